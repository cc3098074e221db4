package registry

import (
	"context"

	"github.com/lathe-registry/lathe/internal/store"
)

// The SDK state of a module — its published package versions, the interests in its
// SDKs and its generation jobs — is content derived from the module, so the module's
// access rules apply to it too.

// updateModuleState runs fn, which writes SDK state of the module moduleID, in one
// transaction, if the caller can see the module.
func (r *Registry) updateModuleState(ctx context.Context, moduleID string, fn func(store.Tx) error) error {
	if _, err := r.ReadableModule(ctx, moduleID); err != nil {
		return err
	}
	return r.store.Update(ctx, fn)
}

// Artifact returns a published version of a package generated from a module the caller
// can see.
func (r *Registry) Artifact(ctx context.Context, ecosystem, name, version string) (store.Artifact, error) {
	a, err := r.store.Artifact(ctx, ecosystem, name, version)
	if isNotFound(err) {
		return a, notFoundf("%s package %s %s", ecosystem, name, version)
	}
	if err != nil {
		return a, err
	}
	if _, err := r.ReadableModule(ctx, a.ModuleID); err != nil {
		return store.Artifact{}, notFoundf("%s package %s %s", ecosystem, name, version)
	}
	return a, nil
}

// ListArtifacts lists the published versions of a package in publication order. A
// version generated from a module the caller may not see (a deleted module of the same
// name, say) keeps its place as a zero Artifact, so that offsets into the list stay right.
func (r *Registry) ListArtifacts(ctx context.Context, ecosystem, name string, page store.Page) ([]store.Artifact, error) {
	all, err := r.store.ListArtifacts(ctx, ecosystem, name, page)
	if err != nil {
		return nil, err
	}
	for i, a := range all {
		if _, err := r.ReadableModule(ctx, a.ModuleID); err != nil {
			all[i] = store.Artifact{}
		}
	}
	return all, nil
}

// PublishArtifact publishes a version of a package generated from a module the caller
// can see. A version is written once: publishing it again returns the first record.
func (r *Registry) PublishArtifact(ctx context.Context, a store.Artifact) (store.Artifact, error) {
	err := r.updateModuleState(ctx, a.ModuleID, func(tx store.Tx) (err error) {
		a, err = tx.PutArtifact(ctx, a)
		return err
	})
	if err != nil {
		return store.Artifact{}, err
	}
	return a, nil
}

// AddInterest records an interest in the SDKs of a module the caller can see, reporting
// whether it is new.
func (r *Registry) AddInterest(ctx context.Context, i store.Interest) (bool, error) {
	var created bool
	err := r.updateModuleState(ctx, i.ModuleID, func(tx store.Tx) (err error) {
		created, err = tx.AddInterest(ctx, i)
		return err
	})
	return created, err
}

// Interests lists the interests in a module the caller can see, oldest first.
func (r *Registry) Interests(ctx context.Context, moduleID string) ([]store.Interest, error) {
	if _, err := r.ReadableModule(ctx, moduleID); err != nil {
		return nil, err
	}
	return r.store.Interests(ctx, moduleID)
}

// EnqueueJob queues the generation of an SDK version of a module the caller can see; an
// equal job is not queued twice (see [store.Tx.EnqueueJob]).
func (r *Registry) EnqueueJob(ctx context.Context, j store.Job) (store.Job, error) {
	err := r.updateModuleState(ctx, j.ModuleID, func(tx store.Tx) (err error) {
		j, err = tx.EnqueueJob(ctx, j)
		return err
	})
	if err != nil {
		return store.Job{}, err
	}
	return j, nil
}

// RecordFailedJob stores j as failed with a message, for a generation of a module the
// caller can see that ran outside the queue.
func (r *Registry) RecordFailedJob(ctx context.Context, j store.Job, message string) error {
	return r.updateModuleState(ctx, j.ModuleID, func(tx store.Tx) error {
		job, err := tx.EnqueueJob(ctx, j)
		if err != nil {
			return err
		}
		return tx.FailJob(ctx, job.ID, message)
	})
}

// ClearJob deletes the stored job equal to j, if any, for a generation of a module the
// caller can see that succeeded outside the queue.
func (r *Registry) ClearJob(ctx context.Context, j store.Job) error {
	return r.updateModuleState(ctx, j.ModuleID, func(tx store.Tx) error {
		// EnqueueJob finds the stored job; it is deleted in the same transaction, so no
		// worker ever takes it.
		job, err := tx.EnqueueJob(ctx, j)
		if err != nil {
			return err
		}
		return tx.FinishJob(ctx, job.ID)
	})
}

// FinishJob deletes a job the queue ran; only the server's own workers finish jobs.
func (r *Registry) FinishJob(ctx context.Context, id int64) error {
	if err := authorizeSystem(ctx, "finish generation jobs"); err != nil {
		return err
	}
	return r.store.Update(ctx, func(tx store.Tx) error { return tx.FinishJob(ctx, id) })
}

// FailJob marks a job the queue ran as failed; only the server's own workers do.
func (r *Registry) FailJob(ctx context.Context, id int64, message string) error {
	if err := authorizeSystem(ctx, "fail generation jobs"); err != nil {
		return err
	}
	return r.store.Update(ctx, func(tx store.Tx) error { return tx.FailJob(ctx, id, message) })
}

// Jobs lists jobs in a state (0 for all) by id, only those of modules the caller can
// see. Filtering happens after the page is read, so a page may come back short.
func (r *Registry) Jobs(ctx context.Context, state store.JobState, page store.Page) ([]store.Job, error) {
	all, err := r.store.Jobs(ctx, state, page)
	if err != nil {
		return nil, err
	}
	visible := all[:0]
	for _, j := range all {
		if _, err := r.ReadableModule(ctx, j.ModuleID); err == nil {
			visible = append(visible, j)
		}
	}
	return visible, nil
}
