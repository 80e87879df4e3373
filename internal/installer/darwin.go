package installer

import "errors"

// Darwin builds the macOS package. Placeholder until that part lands.
func Darwin(o Options) ([]Built, error) {
	return nil, errors.New("installer: macOS package not implemented yet")
}
