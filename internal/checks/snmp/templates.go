package snmp

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/core"
)

// OIDs the templates read.
const (
	oidSysUpTime = "1.3.6.1.2.1.1.3.0"

	oidIfDescr      = "1.3.6.1.2.1.2.2.1.2"
	oidIfAdmin      = "1.3.6.1.2.1.2.2.1.7"
	oidIfOper       = "1.3.6.1.2.1.2.2.1.8"
	oidIfInOctets   = "1.3.6.1.2.1.2.2.1.10"
	oidIfOutOctets  = "1.3.6.1.2.1.2.2.1.16"
	oidIfName       = "1.3.6.1.2.1.31.1.1.1.1"
	oidIfHCInOctets = "1.3.6.1.2.1.31.1.1.1.6"
	oidIfHCOut      = "1.3.6.1.2.1.31.1.1.1.10"

	oidHrStorageType  = "1.3.6.1.2.1.25.2.3.1.2"
	oidHrStorageDescr = "1.3.6.1.2.1.25.2.3.1.3"
	oidHrStorageUnits = "1.3.6.1.2.1.25.2.3.1.4"
	oidHrStorageSize  = "1.3.6.1.2.1.25.2.3.1.5"
	oidHrStorageUsed  = "1.3.6.1.2.1.25.2.3.1.6"
	hrStorageRAM      = "1.3.6.1.2.1.25.2.1.2"
	hrStorageFixed    = "1.3.6.1.2.1.25.2.1.4"

	oidSupplyDescr = "1.3.6.1.2.1.43.11.1.1.6"
	oidSupplyMax   = "1.3.6.1.2.1.43.11.1.1.8"
	oidSupplyLevel = "1.3.6.1.2.1.43.11.1.1.9"
	oidPrinterStat = "1.3.6.1.2.1.25.3.5.1.1"
	oidPrinterErr  = "1.3.6.1.2.1.25.3.5.1.2"

	oidUPSBatteryStatus = "1.3.6.1.2.1.33.1.2.1.0"
	oidUPSOnBattery     = "1.3.6.1.2.1.33.1.2.2.0"
	oidUPSMinutesLeft   = "1.3.6.1.2.1.33.1.2.3.0"
	oidUPSCharge        = "1.3.6.1.2.1.33.1.2.4.0"
	oidUPSOutputSource  = "1.3.6.1.2.1.33.1.4.1.0"
)

// worse returns the more severe status.
func worse(a, b core.Status) core.Status {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}

// interfaces reports one result per interface: its operational state and
// traffic in bit/s (from the 64-bit counters where the device has them).
func (c *Check) interfaces(ctx context.Context, s source, r check.Reporter) error {
	t, err := c.walkColumns(ctx, s, oidIfDescr, oidIfAdmin, oidIfOper, oidIfInOctets, oidIfOutOctets, oidIfName, oidIfHCInOctets, oidIfHCOut)
	if err != nil {
		return err
	}
	if len(t[oidIfDescr]) == 0 {
		return fmt.Errorf("device has no IF-MIB interface table")
	}
	watch := map[string]bool{}
	for _, n := range c.p.Interfaces {
		watch[n] = true
	}
	found := map[string]bool{}
	now := c.now()
	for _, idx := range t.indexes(oidIfDescr) {
		descr := t[oidIfDescr][idx].Str
		name := descr
		if n := t[oidIfName][idx].Str; n != "" {
			name = n
		}
		listed := watch[name] || watch[descr]
		if len(watch) > 0 && !listed {
			continue
		}
		found[name], found[descr] = true, true
		res := check.Result{Key: name, Status: core.StatusOK}
		admin, oper := t[oidIfAdmin][idx].Num, t[oidIfOper][idx].Num
		var en, de string
		switch {
		case admin != 1:
			en, de = "is administratively down", "ist administrativ deaktiviert"
		case oper == 1:
			en, de = "is up", "ist aktiv (up)"
		case oper == 5:
			en, de = "is dormant", "ruht (dormant)"
		default:
			en, de = fmt.Sprintf("is down (%s)", operName(oper)), fmt.Sprintf("ist ausgefallen (%s)", operName(oper))
			res.Status = core.StatusWarning
			if listed {
				res.Status = core.StatusFailure
			}
		}
		in, okIn := c.ifRate(t, "in", idx, oidIfHCInOctets, oidIfInOctets, now)
		out, okOut := c.ifRate(t, "out", idx, oidIfHCOut, oidIfOutOctets, now)
		if okIn && okOut {
			res.Value, res.Unit = check.Float(in+out), "bit/s"
			iEN, iDE := bitRate(in)
			oEN, oDE := bitRate(out)
			en += fmt.Sprintf(", in %s, out %s", iEN, oEN)
			de += fmt.Sprintf(", eingehend %s, ausgehend %s", iDE, oDE)
		}
		res.Message = core.Text{EN: "Interface " + name + " " + en, DE: "Schnittstelle " + name + " " + de}
		r.Report(res)
	}
	for _, n := range c.p.Interfaces {
		if !found[n] {
			r.Report(check.Result{Key: n, Status: core.StatusFailure, Message: core.Text{
				EN: "Interface " + n + " was not found on " + c.target(),
				DE: "Schnittstelle " + n + " wurde auf " + c.target() + " nicht gefunden",
			}})
		}
	}
	return nil
}

// ifRate computes bit/s from the 64-bit counter, or the 32-bit one.
func (c *Check) ifRate(t table, dir, idx, hc, low string, now time.Time) (float64, bool) {
	v, ok := t[hc][idx]
	if !ok || v.Kind != KindCounter {
		v, ok = t[low][idx]
	}
	if !ok || v.Kind != KindCounter {
		return 0, false
	}
	rate, ok := c.state.rate("if:"+dir+":"+idx, v, now)
	return rate * 8, ok
}

func operName(v float64) string {
	names := map[float64]string{2: "down", 3: "testing", 4: "unknown", 6: "notPresent", 7: "lowerLayerDown"}
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf("status %v", v)
}

// bitRate formats bit/s with a decimal unit, as network people read it.
func bitRate(v float64) (en, de string) {
	units := []string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	en, de = msg.Num(v, 1)
	return en + " " + units[i], de + " " + units[i]
}

// uptime reports sysUpTime and warns once when the device restarted since
// the previous run (uptime went down without a 32-bit TimeTicks wrap).
func (c *Check) uptime(ctx context.Context, s source, r check.Reporter) error {
	vs, err := s.Get(ctx, []string{oidSysUpTime})
	if err != nil {
		return err
	}
	if len(vs) != 1 || vs[0].Kind != KindTicks {
		return fmt.Errorf("device has no sysUpTime")
	}
	now := c.now()
	ticks := vs[0].U64
	secs := float64(ticks) / 100
	res := check.Result{Key: "uptime", Status: core.StatusOK, Value: check.Float(secs), Unit: "s"}
	en, de := duration(secs)
	res.Message = core.Text{EN: c.target() + " has been up for " + en, DE: c.target() + " läuft seit " + de}
	if prev := c.state.Uptime; prev != nil && ticks < prev.V {
		elapsed := now.Sub(prev.At).Seconds() * 100
		wrapped := float64(prev.V)+elapsed >= math.MaxUint32 && float64(ticks) <= elapsed*1.5+6000
		if !wrapped {
			res.Status = core.StatusWarning
			res.Message = core.Text{EN: c.target() + " restarted; up for " + en, DE: c.target() + " wurde neu gestartet; läuft seit " + de}
		}
	}
	c.state.Uptime = &sample{V: ticks, Bits: 32, At: now}
	r.Report(res)
	return nil
}

// duration words seconds as days, hours and minutes.
func duration(secs float64) (en, de string) {
	s := int64(secs)
	d, h, m := s/86400, s%86400/3600, s%3600/60
	switch {
	case d > 0:
		return fmt.Sprintf("%d days %d h %d min", d, h, m), fmt.Sprintf("%d Tagen %d h %d min", d, h, m)
	case h > 0:
		return fmt.Sprintf("%d h %d min", h, m), fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%d min %d s", m, s%60), fmt.Sprintf("%d min %d s", m, s%60)
}

// storage reports used space of fixed disks and RAM from HOST-RESOURCES-MIB.
func (c *Check) storage(ctx context.Context, s source, r check.Reporter) error {
	t, err := c.walkColumns(ctx, s, oidHrStorageType, oidHrStorageDescr, oidHrStorageUnits, oidHrStorageSize, oidHrStorageUsed)
	if err != nil {
		return err
	}
	if len(t[oidHrStorageType]) == 0 {
		return fmt.Errorf("device has no HOST-RESOURCES-MIB storage table")
	}
	n := 0
	for _, idx := range t.indexes(oidHrStorageType) {
		typ := t[oidHrStorageType][idx].Str
		descr := t[oidHrStorageDescr][idx].Str
		if typ != hrStorageFixed && typ != hrStorageRAM || pseudoMount(descr) {
			continue
		}
		units, size, used := t[oidHrStorageUnits][idx].Num, t[oidHrStorageSize][idx].Num, t[oidHrStorageUsed][idx].Num
		if size <= 0 || units <= 0 {
			continue
		}
		n++
		pct := used / size * 100
		pEN, pDE := msg.Num(pct, 1)
		fEN, fDE := msg.Bytes(uint64(max(size-used, 0) * units))
		tEN, tDE := msg.Bytes(uint64(size * units))
		r.Report(check.Result{Key: descr, Status: c.p.Storage.status(pct), Value: check.Float(pct), Unit: "%", Message: core.Text{
			EN: fmt.Sprintf("%s on %s is %s %% full (%s free of %s)", descr, c.target(), pEN, fEN, tEN),
			DE: fmt.Sprintf("%s auf %s ist zu %s %% belegt (%s von %s frei)", descr, c.target(), pDE, fDE, tDE),
		}})
	}
	if n == 0 {
		return fmt.Errorf("device reports no fixed disk or RAM storage")
	}
	return nil
}

// pseudoMount skips kernel and runtime trees some agents list as disks.
func pseudoMount(m string) bool {
	for _, p := range []string{"/proc", "/sys", "/dev", "/run"} {
		if m == p || strings.HasPrefix(m, p+"/") {
			return true
		}
	}
	return false
}

// printerErrors are hrPrinterDetectedErrorState bits (RFC 2790; bit 0 is
// the most significant bit of the first octet) with their severity.
var printerErrors = []struct {
	en, de string
	st     core.Status
}{
	{"low paper", "wenig Papier", core.StatusWarning},
	{"no paper", "kein Papier", core.StatusFailure},
	{"low toner", "wenig Toner", core.StatusWarning},
	{"no toner", "kein Toner", core.StatusFailure},
	{"door open", "Klappe offen", core.StatusFailure},
	{"paper jam", "Papierstau", core.StatusFailure},
	{"offline", "offline", core.StatusFailure},
	{"service requested", "Wartung angefordert", core.StatusFailure},
	{"input tray missing", "Papierfach fehlt", core.StatusWarning},
	{"output tray missing", "Ausgabefach fehlt", core.StatusWarning},
	{"marker supply missing", "Verbrauchsmaterial fehlt", core.StatusFailure},
	{"output nearly full", "Ausgabefach fast voll", core.StatusWarning},
	{"output full", "Ausgabefach voll", core.StatusFailure},
	{"input tray empty", "Papierfach leer", core.StatusWarning},
	{"preventive maintenance overdue", "vorbeugende Wartung überfällig", core.StatusWarning},
}

// printer reports supply levels (Printer-MIB) and the printer's state
// (HOST-RESOURCES-MIB hrPrinterTable).
func (c *Check) printer(ctx context.Context, s source, r check.Reporter) error {
	t, err := c.walkColumns(ctx, s, oidSupplyDescr, oidSupplyMax, oidSupplyLevel, oidPrinterStat, oidPrinterErr)
	if err != nil {
		return err
	}
	if len(t[oidSupplyDescr]) == 0 && len(t[oidPrinterStat]) == 0 {
		return fmt.Errorf("device implements neither Printer-MIB supplies nor hrPrinterTable")
	}
	for _, idx := range t.indexes(oidPrinterStat) {
		res := check.Result{Key: "printer", Status: core.StatusOK}
		if len(t[oidPrinterStat]) > 1 {
			res.Key += "." + idx
		}
		stEN, stDE := printerStatus(t[oidPrinterStat][idx].Num)
		var en, de []string
		raw := t[oidPrinterErr][idx].Raw
		for bit, e := range printerErrors {
			if bit/8 < len(raw) && raw[bit/8]&(0x80>>(bit%8)) != 0 {
				en, de = append(en, e.en), append(de, e.de)
				res.Status = worse(res.Status, e.st)
			}
		}
		res.Message = core.Text{EN: "Printer " + c.target() + " is " + stEN, DE: "Drucker " + c.target() + " ist " + stDE}
		if len(en) > 0 {
			res.Message.EN += ": " + strings.Join(en, ", ")
			res.Message.DE += ": " + strings.Join(de, ", ")
		}
		r.Report(res)
	}
	for _, idx := range t.indexes(oidSupplyDescr) {
		name := t[oidSupplyDescr][idx].Str
		maxV, okM := t[oidSupplyMax][idx]
		level, okL := t[oidSupplyLevel][idx]
		res := check.Result{Key: "supply " + name, Status: core.StatusOK}
		switch {
		case okL && level.Num == -3:
			res.Message = core.Text{EN: name + ": some remaining", DE: name + ": noch vorhanden"}
		case !okL || !okM || level.Num < 0 || maxV.Num <= 0:
			res.Message = core.Text{EN: name + ": level not reported", DE: name + ": Füllstand nicht gemeldet"}
		default:
			pct := min(level.Num/maxV.Num*100, 100)
			res.Value, res.Unit, res.Status = check.Float(pct), "%", c.p.Supplies.status(pct)
			en, de := msg.Num(pct, 0)
			res.Message = core.Text{EN: fmt.Sprintf("%s: %s %% left", name, en), DE: fmt.Sprintf("%s: noch %s %%", name, de)}
		}
		r.Report(res)
	}
	return nil
}

func printerStatus(v float64) (en, de string) {
	switch v {
	case 3:
		return "idle", "bereit"
	case 4:
		return "printing", "am Drucken"
	case 5:
		return "warming up", "in der Aufwärmphase"
	case 1:
		return "in another state", "in einem anderen Zustand"
	}
	return "in an unknown state", "in unbekanntem Zustand"
}

// ups reports battery charge and whether the UPS runs on battery (UPS-MIB,
// RFC 1628).
func (c *Check) ups(ctx context.Context, s source, r check.Reporter) error {
	vs, err := s.Get(ctx, []string{oidUPSBatteryStatus, oidUPSOnBattery, oidUPSMinutesLeft, oidUPSCharge, oidUPSOutputSource})
	if err != nil {
		return err
	}
	got := map[string]Value{}
	for _, v := range vs {
		if v.Kind != KindString {
			got[v.OID] = v
		}
	}
	if len(got) == 0 {
		return fmt.Errorf("device does not implement UPS-MIB (RFC 1628)")
	}
	bat := check.Result{Key: "battery", Status: core.StatusOK}
	var en, de []string
	if v, ok := got[oidUPSCharge]; ok {
		bat.Value, bat.Unit, bat.Status = check.Float(v.Num), "%", c.p.Battery.status(v.Num)
		e, d := msg.Num(v.Num, 0)
		en, de = append(en, "charged "+e+" %"), append(de, "geladen "+d+" %")
	}
	onBattery := got[oidUPSOutputSource].Num == 5
	switch got[oidUPSBatteryStatus].Num {
	case 2:
		en, de = append(en, "normal"), append(de, "normal")
	case 3:
		st := core.StatusWarning
		if onBattery {
			st = core.StatusFailure
		}
		bat.Status = worse(bat.Status, st)
		en, de = append(en, "low"), append(de, "schwach")
	case 4:
		bat.Status = core.StatusFailure
		en, de = append(en, "depleted"), append(de, "erschöpft")
	}
	if v, ok := got[oidUPSMinutesLeft]; ok {
		e, d := msg.Num(v.Num, 0)
		en, de = append(en, "about "+e+" min runtime"), append(de, "etwa "+d+" min Laufzeit")
	}
	bat.Message = core.Text{EN: "UPS " + c.target() + " battery: " + strings.Join(en, ", "), DE: "USV " + c.target() + " Batterie: " + strings.Join(de, ", ")}
	r.Report(bat)
	if src, ok := got[oidUPSOutputSource]; ok {
		pw := check.Result{Key: "power", Status: core.StatusOK}
		switch src.Num {
		case 3:
			pw.Message = core.Text{EN: "UPS " + c.target() + " runs on mains power", DE: "USV " + c.target() + " läuft am Netz"}
		case 5:
			secs := got[oidUPSOnBattery].Num
			e, d := duration(secs)
			pw.Status = core.StatusFailure
			pw.Value, pw.Unit = check.Float(secs), "s"
			pw.Message = core.Text{EN: "UPS " + c.target() + " runs on battery for " + e, DE: "USV " + c.target() + " läuft seit " + d + " auf Batterie"}
		case 4:
			pw.Status = core.StatusWarning
			pw.Message = core.Text{EN: "UPS " + c.target() + " is in bypass: the load is not protected", DE: "USV " + c.target() + " ist im Bypass: die Last ist ungeschützt"}
		case 6, 7:
			pw.Message = core.Text{EN: "UPS " + c.target() + " runs on mains with voltage correction", DE: "USV " + c.target() + " läuft am Netz mit Spannungskorrektur"}
		case 2:
			pw.Status = core.StatusFailure
			pw.Message = core.Text{EN: "UPS " + c.target() + " output is off", DE: "USV " + c.target() + " Ausgang ist aus"}
		default:
			pw.Status = core.StatusUnknown
			pw.Message = core.Text{EN: "UPS " + c.target() + " output source is unknown", DE: "USV " + c.target() + " Ausgangsquelle ist unbekannt"}
		}
		r.Report(pw)
	}
	return nil
}
