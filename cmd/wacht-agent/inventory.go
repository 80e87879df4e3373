package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/inventory"
)

// cmdInventory prints the inventory the agent would send. Gaps are part
// of the answer, not a failure: the exit status is 0 with them.
func cmdInventory(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inventory", stderr)
	asJSON := fs.Bool("json", false, "print the normalized inventory as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	inv := inventory.Collect(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(inv)
	}
	return printInventory(stdout, inv)
}

// printInventory writes a summary a technician reads at a glance.
func printInventory(w io.Writer, inv core.Inventory) error {
	hw, s := inv.Hardware, inv.System
	p := func(label, format string, a ...any) {
		fmt.Fprintf(w, "%-13s "+format+"\n", append([]any{label + ":"}, a...)...)
	}
	p("Computer", "%s", join(hw.Manufacturer, hw.Model, serial(hw.Serial)))
	p("Firmware", "%s", join(hw.Firmware.Vendor, hw.Firmware.Version, hw.Firmware.Date, map[bool]string{true: "UEFI"}[hw.Firmware.UEFI]))
	p("CPU", "%s (%d sockets, %d cores, %d threads)", hw.CPU.Model, hw.CPU.Sockets, hw.CPU.Cores, hw.CPU.Threads)
	p("Memory", "%s in %d modules", bytesText(hw.Memory.TotalBytes), len(hw.Memory.Modules))
	for _, d := range hw.Disks {
		p("Disk", "%s %s %s %s", d.Name, bytesText(d.SizeBytes), join(d.Kind, d.Bus), join(d.Model, serial(d.Serial)))
	}
	for _, v := range hw.Volumes {
		p("Volume", "%s %s %s%s", v.Mount, v.FS, bytesText(v.SizeBytes), map[bool]string{true: " encrypted (" + v.Encryption + ")"}[v.EncryptionState == "on"])
	}
	for _, n := range hw.NICs {
		line := join(n.Name, n.MAC, strings.Join(n.Addresses, " "))
		if n.SpeedMbps > 0 {
			line += fmt.Sprintf(" %d Mbit/s", n.SpeedMbps)
		}
		if len(n.Gateways) > 0 {
			line += ", gateway " + strings.Join(n.Gateways, " ")
		}
		if len(n.DNS) > 0 {
			line += ", DNS " + strings.Join(n.DNS, " ")
		}
		p("Network", "%s", line)
	}
	for _, g := range hw.GPUs {
		p("GPU", "%s", join(g.Name, g.Driver))
	}
	for _, m := range hw.Monitors {
		p("Monitor", "%s", join(m.Manufacturer, m.Model, serial(m.Serial)))
	}
	for _, b := range hw.Batteries {
		p("Battery", "%s health %d%% (%d of %d mWh, %d cycles)", b.Name, b.HealthPercent, b.FullChargeMWh, b.DesignMWh, b.CycleCount)
	}
	tpm := "none"
	if hw.TPM.Present {
		tpm = join("present", hw.TPM.Version)
	}
	p("Security", "TPM %s, Secure Boot %s", tpm, cmp.Or(hw.SecureBoot, "unknown"))
	p("System", "%s", join(s.OSName, s.Build))
	p("Host name", "%s", s.Hostname)
	if s.InstallDate != "" {
		p("Installed", "%s", s.InstallDate)
	}
	if !s.LastBoot.IsZero() {
		p("Last boot", "%s", s.LastBoot.Format("2006-01-02 15:04 MST"))
	}
	if s.JoinType != "" {
		p("Directory", "%s %s", s.JoinType, s.Domain)
	}
	for _, u := range s.Users {
		p("User", "%s%s", u.Name, map[bool]string{true: " (admin)"}[u.Admin])
	}
	p("Logged on", "%s", cmp.Or(strings.Join(s.LoggedOn, ", "), "nobody"))
	p("Software", "%d programs, %d hotfixes", len(inv.Software), len(inv.Hotfixes))
	if len(inv.Missing) == 0 {
		p("Missing", "nothing")
	}
	for _, g := range inv.Missing {
		p("Missing", "%s: %s", g.Part, g.Error)
	}
	return nil
}

// join joins the non-empty parts with spaces.
func join(parts ...string) string {
	var out []string
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

func serial(s string) string {
	if s == "" {
		return ""
	}
	return "serial " + s
}

// bytesText is a size in binary units, as the OS tools show it.
func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
