package api_test

import (
	"context"
	"testing"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/limit"
)

func TestExpensiveCallsLimited(t *testing.T) {
	l := limit.New("uploads and generations", 1, 2)
	f := newFixtureWith(t, fixtureConfig{expensive: l})
	ctx := context.Background()
	file := map[string]string{"app/v1/app.proto": "syntax = \"proto3\";\npackage app.v1;\nmessage App {}\n"}
	wantBusy := func(err error, what string) {
		t.Helper()
		if connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Fatalf("%s: %v, want resource_exhausted", what, err)
		}
	}

	// Anonymous callers are counted by address: the test's, 127.0.0.1, is at its share.
	anon, err := l.Acquire(limit.Caller("", "127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.uploads.Upload(ctx, connect.NewRequest(upload("app", file)))
	wantBusy(err, "anonymous upload while another from the address runs")
	// Alice is another caller, and cheap calls are not counted.
	if _, err := f.uploads.Upload(ctx, authed(f, upload("app", file))); err != nil {
		t.Fatalf("alice's upload beside an anonymous one: %v", err)
	}
	if _, err := f.modules.GetModules(ctx, connect.NewRequest(&modulev1.GetModulesRequest{
		ModuleRefs: []*modulev1.ModuleRef{{Value: &modulev1.ModuleRef_Name_{Name: &modulev1.ModuleRef_Name{Owner: "alice", Module: "app"}}}},
	})); err != nil {
		t.Fatalf("GetModules: %v", err)
	}

	// The server at its total turns everyone away.
	other, err := l.Acquire("another caller")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.uploads.Upload(ctx, authed(f, upload("app", file)))
	wantBusy(err, "upload while the server is at its total")
	anon()
	other()
	if _, err := f.uploads.Upload(ctx, authed(f, upload("app", file))); err != nil {
		t.Fatalf("upload after the others ended: %v", err)
	}
}
