package api_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/api"
	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	sdkv1 "github.com/lathe-registry/lathe/internal/gen/lathe/sdk/v1"
	"github.com/lathe-registry/lathe/internal/gen/lathe/sdk/v1/sdkv1connect"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// Anonymous callers may not queue generations: they could otherwise run any public
// module's generation again and again.
func TestGenerateSDKNeedsToken(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	token, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error {
		u, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		return tx.CreateToken(ctx, u.ID, hash)
	}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	reg := registry.New(st, memblob.New())
	sdks := sdk.New(reg, memblob.New(), nil)
	srv := httptest.NewServer(api.Handler(reg, api.Config{MaxMessageBytes: 1 << 20, Logger: log, Jobs: sdk.NewJobs(sdks, log)}))
	t.Cleanup(srv.Close)
	client := sdkv1connect.NewSDKServiceClient(srv.Client(), srv.URL)
	msg := &sdkv1.GenerateSDKRequest{Ecosystem: "cargo", Owner: "alice", Module: "m", PluginOwner: "lathe", Plugin: "prost"}
	if _, err := client.GenerateSDK(ctx, connect.NewRequest(msg)); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("anonymous GenerateSDK: %v, want unauthenticated", err)
	}
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", "Bearer "+token)
	// With a token, the request goes on (to the ecosystem this server does not have).
	if _, err := client.GenerateSDK(ctx, req); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("GenerateSDK with a token: %v, want invalid_argument", err)
	}
}
