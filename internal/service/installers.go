package service

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/release"
)

// Installer downloads (issue 21): the newest published installer of a kind
// and architecture, for an enrollment token's holder
// (GET /api/agent/installers/{kind}/{arch}) and for signed-in users
// (GET /api/v1/installers/{kind}/{arch}).

// InstallerOS is the OS an installer kind is for ("" for an unknown or
// non-installer kind).
func InstallerOS(kind string) string {
	switch kind {
	case release.KindMSI:
		return "windows"
	case release.KindDeb, release.KindRPM:
		return "linux"
	case release.KindPkg, release.KindTarball:
		return "darwin"
	}
	return ""
}

// InstallerArchs are the architectures installers are built for.
var InstallerArchs = []string{"amd64", "arm64"}

// NoInstallerError is a kind and architecture nothing was published for.
type NoInstallerError struct{ Kind, Arch string }

func (e *NoInstallerError) Error() string {
	return fmt.Sprintf("no installer published for %s/%s; run `wacht release publish`", e.Kind, e.Arch)
}

// Text says it in English and German.
func (e *NoInstallerError) Text() core.Text {
	return core.Text{EN: e.Error(), DE: fmt.Sprintf("Für %s/%s wurde kein Installationspaket veröffentlicht; `wacht release publish` veröffentlicht es", e.Kind, e.Arch)}
}

// Is makes an *NoInstallerError a core.ErrNotFound.
func (e *NoInstallerError) Is(target error) bool { return target == core.ErrNotFound }

// CheckInstallerKind checks kind and arch of an installer download:
// core.ErrInvalid wrapped with a message naming the bad one.
func CheckInstallerKind(kind, arch string) error {
	if InstallerOS(kind) == "" {
		return fmt.Errorf("kind %q is not an installer kind (msi, deb, rpm, pkg, tar.gz): %w", kind, core.ErrInvalid)
	}
	for _, a := range InstallerArchs {
		if a == arch {
			return nil
		}
	}
	return fmt.Errorf("arch %q is not amd64 or arm64: %w", arch, core.ErrInvalid)
}

// OpenInstaller returns the newest published installer of kind for arch
// (LatestAgentFile) and its bytes from the blob store; an *NoInstallerError
// when none is published. The caller closes the reader.
func (s *Service) OpenInstaller(ctx context.Context, kind, arch string) (core.AgentFile, io.ReadSeekCloser, error) {
	if err := CheckInstallerKind(kind, arch); err != nil {
		return core.AgentFile{}, nil, err
	}
	f, err := s.LatestAgentFile(ctx, kind, InstallerOS(kind), arch)
	if errors.Is(err, core.ErrNotFound) {
		return core.AgentFile{}, nil, &NoInstallerError{Kind: kind, Arch: arch}
	}
	if err != nil {
		return core.AgentFile{}, nil, fmt.Errorf("finding the newest %s/%s installer: %w", kind, arch, err)
	}
	if s.blobs == nil {
		return core.AgentFile{}, nil, errors.New("the server keeps no files (no blob store)")
	}
	r, err := s.blobs.Open(f.SHA256)
	if err != nil {
		return core.AgentFile{}, nil, fmt.Errorf("opening installer %s: %w", f.Name, err)
	}
	return f, r, nil
}
