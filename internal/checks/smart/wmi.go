package smart

import (
	"context"
	"fmt"
	"strings"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/core"
)

// physicalDisk is the part of WMI's MSFT_PhysicalDisk
// (root\Microsoft\Windows\Storage) the check reads.
type physicalDisk struct {
	DeviceId     string
	FriendlyName string
	SerialNumber string
	BusType      uint16
	MediaType    uint16
	HealthStatus uint16
}

// failurePredict is MSStorageDriver_FailurePredictStatus (root\WMI): the
// drive's own S.M.A.R.T. verdict as the storage driver reads it.
type failurePredict struct {
	InstanceName   string
	PredictFailure bool
	Reason         uint32
	Active         bool
}

// wmiReader reads both classes; implemented on Windows only.
type wmiReader interface {
	PhysicalDisks(ctx context.Context) ([]physicalDisk, error)
	FailurePredict(ctx context.Context) ([]failurePredict, error)
}

func (c *smartCheck) runWMI(ctx context.Context, r check.Reporter) error {
	disks, err := c.wmi.PhysicalDisks(ctx)
	if err != nil {
		return msg.WMI("MSFT_PhysicalDisk", err)
	}
	// root\WMI answers "not supported" when no driver exposes S.M.A.R.T.
	// (typical for NVMe and virtual disks); that only loses the extra signal.
	preds, _ := c.wmi.FailurePredict(ctx)
	for _, res := range evaluateWMI(disks, preds) {
		r.Report(res)
	}
	return nil
}

// Bus types of MSFT_PhysicalDisk that never carry a physical disk's health.
const (
	busVirtual       = 14
	busFileBacked    = 15
	busStorageSpaces = 16
)

// virtualNames are FriendlyName prefixes of hypervisors' virtual disks, which
// MSFT_PhysicalDisk reports as "Healthy" without knowing anything.
var virtualNames = []string{"msft virtual", "vmware", "virtual hd", "vbox", "qemu", "red hat virtio", "google persistentdisk", "amazon elastic block store", "xen"}

func isVirtual(d physicalDisk) bool {
	if d.BusType == busVirtual || d.BusType == busFileBacked || d.BusType == busStorageSpaces {
		return true
	}
	n := strings.ToLower(d.FriendlyName)
	for _, v := range virtualNames {
		if strings.HasPrefix(n, v) {
			return true
		}
	}
	return false
}

// evaluateWMI words Windows' view: one result per physical disk, keyed by
// "disk<DeviceId>", plus one failure per driver instance predicting failure.
func evaluateWMI(disks []physicalDisk, preds []failurePredict) []check.Result {
	var out []check.Result
	if len(disks) == 0 {
		return []check.Result{{Status: core.StatusUnsupported, Message: core.Text{
			EN: "Windows lists no physical disks and smartctl is not installed; install smartmontools to check disk health",
			DE: "Windows meldet keine physischen Datenträger und smartctl ist nicht installiert; installieren Sie smartmontools, um den Datenträgerzustand zu prüfen",
		}}}
	}
	for _, d := range disks {
		key := "disk" + d.DeviceId
		name := strings.TrimSpace(d.FriendlyName)
		if isVirtual(d) {
			out = append(out, check.Result{Key: key, Status: core.StatusUnsupported, Message: core.Text{
				EN: fmt.Sprintf("Disk %s is virtual and has no S.M.A.R.T. health data, its state is unknown", name),
				DE: fmt.Sprintf("Datenträger %s ist virtuell und liefert keine S.M.A.R.T.-Daten, sein Zustand ist unbekannt", name),
			}})
			continue
		}
		res := check.Result{Key: key, Value: check.Float(float64(d.HealthStatus)), Unit: "HealthStatus"}
		switch d.HealthStatus {
		case 0:
			res.Status = core.StatusOK
			res.Message = core.Text{EN: fmt.Sprintf("Disk %s is healthy (Windows storage health)", name), DE: fmt.Sprintf("Datenträger %s ist in Ordnung (Windows-Speicherzustand)", name)}
		case 1:
			res.Status = core.StatusWarning
			res.Message = core.Text{EN: fmt.Sprintf("Windows reports a warning for disk %s", name), DE: fmt.Sprintf("Windows meldet eine Warnung für Datenträger %s", name)}
		case 2:
			res.Status = core.StatusFailure
			res.Message = core.Text{EN: fmt.Sprintf("Windows reports disk %s as unhealthy", name), DE: fmt.Sprintf("Windows meldet Datenträger %s als fehlerhaft", name)}
		default:
			res.Status = core.StatusUnknown
			res.Message = core.Text{EN: fmt.Sprintf("Windows does not know the health of disk %s; install smartmontools for S.M.A.R.T. details", name), DE: fmt.Sprintf("Windows kennt den Zustand von Datenträger %s nicht; installieren Sie smartmontools für S.M.A.R.T.-Details", name)}
		}
		out = append(out, res)
	}
	return append(out, predictResults(preds)...)
}

// predictResults reports one failure per driver instance predicting one.
func predictResults(preds []failurePredict) []check.Result {
	var out []check.Result
	for _, p := range preds {
		if !p.PredictFailure {
			continue
		}
		out = append(out, check.Result{Key: p.InstanceName, Status: core.StatusFailure, Value: check.Float(float64(p.Reason)), Unit: "reason", Message: core.Text{
			EN: fmt.Sprintf("The disk driver predicts a failure of %s (S.M.A.R.T. reason %d)", p.InstanceName, p.Reason),
			DE: fmt.Sprintf("Der Datenträgertreiber sagt einen Ausfall von %s voraus (S.M.A.R.T.-Grund %d)", p.InstanceName, p.Reason),
		}})
	}
	return out
}
