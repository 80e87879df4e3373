//go:build windows

package smart

import (
	"context"

	"github.com/yusufpapurcu/wmi"
)

var osWMI wmiReader = winWMI{}

// extraPaths is where the smartmontools installer puts smartctl.
var extraPaths = []string{`C:\Program Files\smartmontools\bin\smartctl.exe`, `C:\Program Files (x86)\smartmontools\bin\smartctl.exe`}

type winWMI struct{}

func (winWMI) PhysicalDisks(ctx context.Context) ([]physicalDisk, error) {
	var ds []physicalDisk
	err := wmi.QueryNamespace("SELECT DeviceId, FriendlyName, SerialNumber, BusType, MediaType, HealthStatus FROM MSFT_PhysicalDisk", &ds, `root\Microsoft\Windows\Storage`)
	return ds, err
}

func (winWMI) FailurePredict(ctx context.Context) ([]failurePredict, error) {
	var ps []failurePredict
	err := wmi.QueryNamespace("SELECT InstanceName, PredictFailure, Reason, Active FROM MSStorageDriver_FailurePredictStatus", &ps, `root\WMI`)
	return ps, err
}
