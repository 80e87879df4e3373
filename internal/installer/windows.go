package installer

import "errors"

// Windows builds the MSI. Placeholder until the MSI part lands.
func Windows(o Options) ([]Built, error) {
	return nil, errors.New("installer: MSI not implemented yet")
}
