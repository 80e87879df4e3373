package server

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/scriptfiles"
	"github.com/wacht-rmm/wacht/internal/service"
)

// ExportScripts writes the library's own scripts (not the built-in ones)
// into dir as plain files (package scriptfiles) and returns how many.
func ExportScripts(ctx context.Context, st core.Store, dir string, now time.Time) (int, error) {
	list, err := cliService(st, now).ListScripts(ctx, service.CLI)
	if err != nil {
		return 0, err
	}
	files := scriptfiles.Export(list)
	if err := scriptfiles.WriteDir(dir, files); err != nil {
		return 0, err
	}
	return len(files) / 2, nil
}

// ImportScripts adds the scripts in dir to the library, or stores a new
// version of a script of the same name whose content differs. It stops at
// the first invalid file, naming it.
func ImportScripts(ctx context.Context, st core.Store, dir string, now time.Time) (scriptfiles.Result, error) {
	scripts, err := scriptfiles.Read(os.DirFS(dir))
	if err != nil {
		return scriptfiles.Result{}, fmt.Errorf("%s: %w", dir, err)
	}
	res, err := scriptfiles.Import(ctx, cliService(st, now), service.CLI, scripts)
	if err != nil {
		return res, fmt.Errorf("%s: %w", dir, err)
	}
	return res, nil
}
