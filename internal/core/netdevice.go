package core

import (
	"context"
	"time"
)

// Device kinds: an enrolled agent, or a network device without an agent
// (router, switch, printer, NAS, UPS) watched by a probe.
const (
	KindAgent   = "agent"
	KindNetwork = "network"
)

// Network device types.
var NetDeviceTypes = []string{"router", "switch", "printer", "nas", "ups", "website", "other"}

// NetDevice is a device without an agent. It is also a row of devices
// (kind "network", same ID), so it is listed and stores results like any
// device. ProbeID is the agent device of the same site that runs its
// checks; 0 means the server itself runs them (website checks only).
type NetDevice struct {
	ID        int64         `json:"id"`
	SiteID    int64         `json:"site_id"`
	ClientID  int64         `json:"client_id"`
	Name      string        `json:"name"`
	Address   string        `json:"address"` // host name or IP address
	Type      string        `json:"type"`    // one of NetDeviceTypes
	ProbeID   int64         `json:"probe_id"`
	State     string        `json:"state"`
	Checks    []PolicyCheck `json:"checks"` // params without secrets
	CreatedAt time.Time     `json:"created_at"`
	// Sealed holds the checks' secret parameters, encrypted by the
	// server (internal/netdev); the store keeps it opaque.
	Sealed []byte `json:"-"`
}

// NetDeviceStore keeps network devices.
type NetDeviceStore interface {
	// CreateNetDevice inserts the device (and its devices row) and sets
	// ID, ClientID, State and CreatedAt. ErrNotFound for an unknown site.
	CreateNetDevice(ctx context.Context, d *NetDevice) error
	// GetNetDevice returns a network device that is not retired, or
	// ErrNotFound (also for an agent device's ID).
	GetNetDevice(ctx context.Context, id int64) (NetDevice, error)
	// ListNetDevices returns the site's network devices that are not
	// retired, by ID (siteID 0: every site).
	ListNetDevices(ctx context.Context, siteID int64) ([]NetDevice, error)
	// ListProbedDevices returns the active network devices probeID
	// watches (0: those the server runs itself).
	ListProbedDevices(ctx context.Context, probeID int64) ([]NetDevice, error)
	// UpdateNetDevice replaces name, address, type, probe, checks and
	// sealed secrets; ErrNotFound.
	UpdateNetDevice(ctx context.Context, d *NetDevice) error
	// RetireNetDevice retires it (history stays); ErrNotFound.
	RetireNetDevice(ctx context.Context, id int64) error
}
