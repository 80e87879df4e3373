package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/svcmgr"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// newServiceManager connects to the OS's service manager; tests replace it.
var newServiceManager = svcmgr.New

func init() {
	RegisterAction(protocol.ActionServices, Action{Lock: protocol.LockServices, Do: func(ctx context.Context, a *Agent, _ json.RawMessage) (any, error) {
		return listServices(ctx, a.serviceManager())
	}})
	RegisterAction(protocol.ActionServiceControl, Action{Lock: protocol.LockServices, Do: func(ctx context.Context, ag *Agent, args json.RawMessage) (any, error) {
		var a protocol.ServiceControlArgs
		err := json.Unmarshal(args, &a)
		ops := []string{protocol.ServiceStart, protocol.ServiceStop, protocol.ServiceRestart, protocol.ServiceSetStartType}
		starts := []string{protocol.StartAutomatic, protocol.StartManual, protocol.StartDisabled}
		if err != nil || a.Name == "" || !slices.Contains(ops, a.Op) || (a.Op == protocol.ServiceSetStartType) != slices.Contains(starts, a.StartType) {
			return nil, Errorf(protocol.CodeBadArgs, "service-control needs a service name, an operation (%s) and, to set the start type, one of %s.",
				"service-control braucht einen Dienstnamen, eine Operation (%s) und, um die Startart zu setzen, eine von %s.",
				strings.Join(ops, ", "), strings.Join(starts, ", "))
		}
		return controlService(ctx, ag.serviceManager(), a)
	}})
}

// serviceManager is how the agent connects to the service manager:
// Options.Services if set, else the OS's.
func (a *Agent) serviceManager() func(context.Context) (svcmgr.Manager, error) {
	if a != nil && a.opts.Services != nil {
		return a.opts.Services
	}
	return newServiceManager
}

func listServices(ctx context.Context, open func(context.Context) (svcmgr.Manager, error)) (protocol.ServiceList, error) {
	m, err := open(ctx)
	if err != nil {
		return protocol.ServiceList{}, serviceErr("", "list", err)
	}
	defer m.Close()
	all, err := m.List(ctx)
	if err != nil {
		return protocol.ServiceList{}, serviceErr("", "list", err)
	}
	out := protocol.ServiceList{Manager: m.Kind(), Services: make([]protocol.Service, 0, len(all))}
	for _, s := range all {
		out.Services = append(out.Services, serviceOut(s))
	}
	slices.SortFunc(out.Services, func(a, b protocol.Service) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out, nil
}

func serviceOut(s svcmgr.Service) protocol.Service {
	return protocol.Service{Name: s.Name, DisplayName: s.Display, Description: s.Description, State: s.State,
		Running: s.Running, StartType: s.StartType, Error: s.Err}
}

// controlService runs one operation and answers with the service as read
// after it.
func controlService(ctx context.Context, open func(context.Context) (svcmgr.Manager, error), a protocol.ServiceControlArgs) (protocol.ServiceControlResult, error) {
	m, err := open(ctx)
	if err != nil {
		return protocol.ServiceControlResult{}, serviceErr(a.Name, a.Op, err)
	}
	defer m.Close()
	switch a.Op {
	case protocol.ServiceStart:
		err = m.Start(ctx, a.Name)
	case protocol.ServiceStop:
		err = m.Stop(ctx, a.Name)
	case protocol.ServiceRestart:
		err = svcmgr.Restart(ctx, m, a.Name)
	case protocol.ServiceSetStartType:
		err = m.SetStartType(ctx, a.Name, a.StartType)
	}
	if err != nil {
		return protocol.ServiceControlResult{}, serviceErr(a.Name, a.Op, err)
	}
	s, err := m.Get(ctx, a.Name)
	if err != nil {
		return protocol.ServiceControlResult{}, serviceErr(a.Name, "read", err)
	}
	return protocol.ServiceControlResult{Service: serviceOut(s)}, nil
}

// serviceOps words the operations in German, as participles.
var serviceOps = map[string]string{
	"list": "aufgelistet", "read": "gelesen", protocol.ServiceStart: "gestartet", protocol.ServiceStop: "gestoppt",
	protocol.ServiceRestart: "neu gestartet", protocol.ServiceSetStartType: "auf eine andere Startart gesetzt",
}

// serviceErr maps a service manager's error to the reply's code and text.
func serviceErr(name, op string, err error) error {
	fail := func(code, en, de string) error {
		return &protocol.ActionError{Code: code, Message: core.Text{EN: en, DE: de}}
	}
	opDE := serviceOps[op]
	switch {
	case errors.Is(err, svcmgr.ErrNotFound):
		return fail(protocol.CodeNotFound, fmt.Sprintf("There is no service %q on this device.", name),
			fmt.Sprintf("Auf diesem Gerät gibt es keinen Dienst %q.", name))
	case errors.Is(err, errors.ErrUnsupported):
		return fail(protocol.CodeUnsupported, fmt.Sprintf("This device's service manager cannot %s services (%v).", op, err),
			fmt.Sprintf("Die Dienstverwaltung dieses Geräts unterstützt das nicht (%s: %v).", op, err))
	case errors.Is(err, svcmgr.ErrTimeout):
		return fail(protocol.CodeTimeout, fmt.Sprintf("The service %q did not %s in time: %v", name, op, err),
			fmt.Sprintf("Der Dienst %q wurde nicht rechtzeitig %s: %v", name, opDE, err))
	case name == "":
		return fail(protocol.CodeFailed, fmt.Sprintf("Could not %s the services: %v", op, err),
			fmt.Sprintf("Die Dienste konnten nicht %s werden: %v", opDE, err))
	}
	return fail(protocol.CodeFailed, fmt.Sprintf("Could not %s the service %q: %v", op, name, err),
		fmt.Sprintf("Der Dienst %q konnte nicht %s werden: %v", name, opDE, err))
}
