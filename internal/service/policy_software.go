package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
)

// Desired software state of policies (issue 17): what policy.Validate
// cannot know without the packages. Who may save them is who may save
// policies at all (administrators): a state "present" makes agents start
// installers as SYSTEM or root.

// SoftwareDeps are what a policy.Resolver needs from the server's secret
// key to send desired software states: the packages' sealed secret
// parameters opened, and download tickets for uploaded files (keyed as
// the blob route checks them). A nil box gives none (such entries show
// as broken).
func SoftwareDeps(box *seal.Box) policy.SoftwareDeps {
	if box == nil {
		return policy.SoftwareDeps{}
	}
	tickets := blobs.NewTickets(box.Derive(blobs.TicketPurpose))
	return policy.SoftwareDeps{
		Secrets: func(sealed []byte) (map[string]string, error) {
			sec, err := netdev.OpenSecrets(box, sealed)
			if err != nil {
				return nil, err
			}
			return sec[packageSecrets], nil
		},
		Ticket: tickets.Issue,
	}
}

// pushIfSoftware pushes the agents' policies when a policy wants package
// id: its edit, new file or deletion changes what they enforce.
func (s *Service) pushIfSoftware(ctx context.Context, id int64) error {
	ps, err := s.store.ListPolicies(ctx)
	if err != nil {
		return fmt.Errorf("listing policies: %w", err)
	}
	for _, p := range ps {
		if slices.ContainsFunc(p.Software, func(e core.PolicySoftware) bool { return !e.Exclude && e.PackageID == id }) {
			s.pushPolicies()
			return nil
		}
	}
	return nil
}

// checkPolicySoftware validates p's software entries against the
// packages: each one not excluded names a package, and a minimum version
// only where its detection rule can tell versions.
func (s *Service) checkPolicySoftware(ctx context.Context, p core.Policy) error {
	var fs []policy.FieldError
	for i, sw := range p.Software {
		if sw.Exclude {
			continue // an exclusion needs only the package, which may be gone
		}
		at := fmt.Sprintf("software[%d]", i)
		pkg, err := s.store.GetPackage(ctx, sw.PackageID)
		if errors.Is(err, core.ErrNotFound) {
			fs = append(fs, fieldErr(at+".package", fmt.Sprintf("there is no package %d", sw.PackageID),
				fmt.Sprintf("es gibt kein Paket %d", sw.PackageID)))
			continue
		}
		if err != nil {
			return fmt.Errorf("getting package %d: %w", sw.PackageID, err)
		}
		if sw.MinVersion == "" {
			continue
		}
		// The same rules as a package's own minimum version.
		d := pkg.Detection
		d.MinVersion = sw.MinVersion
		for _, fe := range checkDetection(d, pkg.OS, nil) {
			if strings.HasSuffix(fe.Field, ".min_version") {
				fs = append(fs, policy.FieldError{Field: at + ".min_version", Message: fe.Message})
			}
		}
	}
	if len(fs) > 0 {
		return &policy.ValidationError{Fields: fs}
	}
	return nil
}
