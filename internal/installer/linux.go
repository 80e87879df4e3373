package installer

import "errors"

// Linux builds the .deb and .rpm packages. Placeholder until that part lands.
func Linux(o Options) ([]Built, error) {
	return nil, errors.New("installer: .deb/.rpm not implemented yet")
}
