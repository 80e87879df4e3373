package netdev

import (
	"encoding/json"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/seal"
)

// Secrets are the secret parameters of a network device's checks: check
// name → parameter name → value.
type Secrets map[string]map[string]string

// SealSecrets seals s (an empty map for none) with b.
func SealSecrets(b *seal.Box, s Secrets) ([]byte, error) {
	if s == nil {
		s = Secrets{}
	}
	j, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding secrets: %w", err)
	}
	return b.Seal(j)
}

// OpenSecrets opens what SealSecrets returned; nil or empty gives none.
func OpenSecrets(b *seal.Box, sealed []byte) (Secrets, error) {
	if len(sealed) == 0 {
		return Secrets{}, nil
	}
	j, err := b.Open(sealed)
	if err != nil {
		return nil, err
	}
	var s Secrets
	if err := json.Unmarshal(j, &s); err != nil {
		return nil, fmt.Errorf("decoding secrets: %w", err)
	}
	if s == nil {
		s = Secrets{}
	}
	return s, nil
}
