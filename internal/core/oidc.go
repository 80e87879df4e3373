package core

import (
	"context"
	"time"
)

// OIDCProvider is an OpenID Connect provider (Entra ID, Google Workspace,
// …) that users may sign in to the dashboard with.
type OIDCProvider struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"` // shown as "Sign in with <Name>"
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret is write-only: sealed at rest, never shown again; an
	// update with "" keeps the stored one.
	ClientSecret string `json:"-"`
	// Domains are the e-mail domains (lower case) whose users may sign in.
	Domains []string `json:"domains"`
	// AutoCreate creates unknown users with DefaultRole and no clients.
	AutoCreate  bool   `json:"auto_create"`
	DefaultRole string `json:"default_role"`
	// RolesClaim names a claim (a string or a list of strings, such as
	// Entra's "groups" or "roles") whose values RoleMap maps to Wacht
	// roles; "" maps nothing.
	RolesClaim string            `json:"roles_claim,omitempty"`
	RoleMap    map[string]string `json:"role_map,omitempty"`
	// EnforcesMFA says the provider itself asks for a second factor, so
	// Wacht's own TOTP step is skipped.
	EnforcesMFA bool      `json:"enforces_mfa"`
	CreatedAt   time.Time `json:"created_at"`
}

// OIDCProviderStore keeps the OpenID Connect providers.
type OIDCProviderStore interface {
	// CreateOIDCProvider stores p and sets its ID and CreatedAt;
	// ErrConflict for a name in use.
	CreateOIDCProvider(ctx context.Context, p *OIDCProvider) error
	// UpdateOIDCProvider replaces p's settings; an empty ClientSecret keeps
	// the stored one. ErrNotFound if absent, ErrConflict for a name in use.
	UpdateOIDCProvider(ctx context.Context, p OIDCProvider) error
	// GetOIDCProvider returns a provider with its secret; ErrNotFound if
	// absent.
	GetOIDCProvider(ctx context.Context, id int64) (OIDCProvider, error)
	// ListOIDCProviders returns every provider by name, with secrets.
	ListOIDCProviders(ctx context.Context) ([]OIDCProvider, error)
	// DeleteOIDCProvider deletes a provider; ErrNotFound if absent.
	DeleteOIDCProvider(ctx context.Context, id int64) error
}
