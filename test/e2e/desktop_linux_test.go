package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// The desktop harness of the tray tests (issue 20): a private X11 display
// (Xvfb), a session D-Bus of its own, the StatusNotifierWatcher
// (status-notifier-watcher) and a visible StatusNotifierItem host
// (gtk-sni-tray-standalone, a bar along the top of the screen), so a tray
// app registers and is drawn exactly as on a user's desktop. The test reads
// what the host sees over D-Bus: the registered items, an item's title,
// tooltip and icon, its menu (com.canonical.dbusmenu), and clicks menu
// entries the way the host does.

// desktopRequired makes missing desktop tools a failure (.ci/run sets
// WACHT_REQUIRE_DESKTOP=1, like WACHT_REQUIRE_WINE).
func desktopRequired() bool {
	return os.Getenv("WACHT_REQUIRE_DESKTOP") == "1" || os.Getenv("CI") != ""
}

// displayTools are the programs a bare display needs (newDisplay), and
// desktopTools those of the whole desktop, with their Debian packages.
var (
	displayTools = [][2]string{{"Xvfb", "xvfb"}, {"import", "imagemagick"}}
	desktopTools = append([][2]string{
		{"dbus-daemon", "dbus"},
		{"xdotool", "xdotool"},
		{"status-notifier-watcher", "haskell-status-notifier-item-utils"},
		{"gtk-sni-tray-standalone", "haskell-gtk-sni-tray-utils"},
	}, displayTools...)
)

const (
	watcherName = "org.kde.StatusNotifierWatcher"
	watcherPath = dbus.ObjectPath("/StatusNotifierWatcher")
	sniIface    = "org.kde.StatusNotifierItem"
	menuIface   = "com.canonical.dbusmenu"
)

// desktop is one running private desktop.
type desktop struct {
	t       *testing.T
	display string // ":N"
	bus     string // the session bus address
	conn    *dbus.Conn
}

// logBuf collects a child's output for the failure report.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newDesktop starts the desktop; everything it started ends with the test.
func newDesktop(t *testing.T) *desktop {
	t.Helper()
	d := newDisplay(t, desktopTools)

	// A session bus of its own, in the foreground so that it ends with
	// its process group.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// Its socket in the test's folder: nothing is left in /tmp.
	bus := d.spawn(nil, "dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=3", "--address=unix:dir="+t.TempDir())
	bus.ExtraFiles = []*os.File{w}
	d.startChild(bus)
	w.Close()
	d.bus = d.readLine(r, "the session bus address")
	r.Close()
	if d.conn, err = dbus.Connect(d.bus); err != nil {
		t.Fatalf("connecting to the session bus %s: %v", d.bus, err)
	}
	t.Cleanup(func() { d.conn.Close() })

	d.startChild(d.spawn(d.Env(), "status-notifier-watcher"))
	waitFor(t, "the StatusNotifierWatcher on the bus", time.Minute, func() bool { return d.hasName(watcherName) })
	d.startChild(d.spawn(d.Env(), "gtk-sni-tray-standalone"))
	waitFor(t, "the tray host to register with the watcher", time.Minute, func() bool {
		v, err := d.conn.Object(watcherName, watcherPath).GetProperty(watcherName + ".IsStatusNotifierHostRegistered")
		return err == nil && v.Value() == true
	})
	t.Logf("desktop: Xvfb on %s, session bus %s, status-notifier-watcher, gtk-sni-tray-standalone", d.display, d.bus)
	return d
}

// newDisplay starts only Xvfb (on a display it picks free), after
// checking that tools (program, Debian package) are installed.
func newDisplay(t *testing.T, tools [][2]string) *desktop {
	t.Helper()
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool[0]); err != nil {
			missing = append(missing, tool[1])
		}
	}
	if len(missing) > 0 {
		how := "the desktop tools are missing (apt-get install " + strings.Join(missing, " ") + ")"
		if desktopRequired() {
			t.Fatal(how + ", and CI or WACHT_REQUIRE_DESKTOP=1 requires the desktop lane")
		}
		t.Skip(how + "; the tray desktop test did not run")
	}
	d := &desktop{t: t}

	// Xvfb picks a free display itself and writes its number to -displayfd.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	xvfb := d.spawn(nil, "Xvfb", "-displayfd", "3", "-screen", "0", "1024x640x24", "-nolisten", "tcp", "-noreset")
	xvfb.ExtraFiles = []*os.File{w}
	d.startChild(xvfb)
	w.Close()
	d.display = ":" + d.readLine(r, "Xvfb's display number")
	r.Close()
	return d
}

// Env is the environment of a program on this desktop. Accessibility is
// off: GTK would otherwise start an AT-SPI bus outside the test's control.
func (d *desktop) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DISPLAY=") && !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(kv, "WAYLAND_DISPLAY=") {
			env = append(env, kv)
		}
	}
	env = append(env, "NO_AT_BRIDGE=1", "GTK_A11Y=none")
	if d.display != "" {
		env = append(env, "DISPLAY="+d.display)
	}
	if d.bus != "" {
		env = append(env, "DBUS_SESSION_BUS_ADDRESS="+d.bus)
	}
	return env
}

// spawn prepares a child in a process group of its own, so that the
// cleanup ends it with whatever it started.
func (d *desktop) spawn(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// startChild starts cmd, logging its output on failure and killing its
// process group at cleanup.
func (d *desktop) startChild(cmd *exec.Cmd) {
	d.t.Helper()
	out := &logBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	d.t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if d.t.Failed() {
			d.t.Logf("%s output:\n%s", filepath.Base(cmd.Path), out.String())
		}
	})
}

// readLine reads the first line a child writes to r.
func (d *desktop) readLine(r io.Reader, what string) string {
	d.t.Helper()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if s == "" {
			d.t.Fatalf("no %s", what)
		}
		return s
	case <-time.After(minWait):
		d.t.Fatalf("timed out waiting for %s", what)
		return ""
	}
}

func (d *desktop) hasName(name string) bool {
	var has bool
	err := d.conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has)
	return err == nil && has
}

// sniItem is a registered StatusNotifierItem.
type sniItem struct {
	service string
	path    dbus.ObjectPath
}

// items returns the items the watcher has registered.
func (d *desktop) items() []sniItem {
	v, err := d.conn.Object(watcherName, watcherPath).GetProperty(watcherName + ".RegisteredStatusNotifierItems")
	if err != nil {
		return nil
	}
	names, _ := v.Value().([]string)
	var out []sniItem
	for _, n := range names {
		// "service/path", or a bare service name at the default path.
		if i := strings.Index(n, "/"); i > 0 {
			out = append(out, sniItem{n[:i], dbus.ObjectPath(n[i:])})
		} else {
			out = append(out, sniItem{n, "/StatusNotifierItem"})
		}
	}
	return out
}

// waitItem waits until exactly one item is registered and returns it.
func (d *desktop) waitItem(what string) sniItem {
	d.t.Helper()
	var items []sniItem
	waitFor(d.t, what+" registered with the watcher", time.Minute, func() bool {
		items = d.items()
		return len(items) == 1
	})
	return items[0]
}

// prop reads a property of the item.
func (d *desktop) prop(it sniItem, name string) (dbus.Variant, error) {
	return d.conn.Object(it.service, it.path).GetProperty(sniIface + "." + name)
}

// title is the item's Title.
func (d *desktop) title(it sniItem) string {
	v, err := d.prop(it, "Title")
	if err != nil {
		return ""
	}
	s, _ := v.Value().(string)
	return s
}

// tooltip is the title and text of the item's ToolTip (sa(iiay)ss).
func (d *desktop) tooltip(it sniItem) (title, text string) {
	v, err := d.prop(it, "ToolTip")
	if err != nil {
		return "", ""
	}
	var tt struct {
		Icon   string
		Pixmap []pixmap
		Title  string
		Text   string
	}
	if err := dbus.Store([]any{v.Value()}, &tt); err != nil {
		return "", ""
	}
	return tt.Title, tt.Text
}

// pixmap is one size of an SNI icon: ARGB32 in network byte order.
type pixmap struct {
	W, H int32
	Pix  []byte
}

// image converts the pixmap.
func (p pixmap) image() (*image.NRGBA, error) {
	if p.W <= 0 || p.H <= 0 || len(p.Pix) != int(p.W*p.H*4) {
		return nil, fmt.Errorf("pixmap %dx%d with %d bytes", p.W, p.H, len(p.Pix))
	}
	img := image.NewNRGBA(image.Rect(0, 0, int(p.W), int(p.H)))
	for i := 0; i < len(p.Pix); i += 4 {
		a, r, g, b := p.Pix[i], p.Pix[i+1], p.Pix[i+2], p.Pix[i+3]
		copy(img.Pix[i:i+4], []byte{r, g, b, a})
	}
	return img, nil
}

// icon returns the largest of the item's IconPixmap sizes.
func (d *desktop) icon(it sniItem) (*image.NRGBA, error) {
	v, err := d.prop(it, "IconPixmap")
	if err != nil {
		return nil, err
	}
	var pms []pixmap
	if err := dbus.Store([]any{v.Value()}, &pms); err != nil {
		return nil, fmt.Errorf("IconPixmap %s: %w", v.Signature(), err)
	}
	if len(pms) == 0 {
		return nil, fmt.Errorf("no IconPixmap")
	}
	best := pms[0]
	for _, p := range pms[1:] {
		if p.W > best.W {
			best = p
		}
	}
	return best.image()
}

// menuEntry is one entry of an item's menu as the host shows it.
type menuEntry struct {
	ID       int32
	Label    string
	Enabled  bool
	Visible  bool
	Type     string // "" or "separator"
	Children []menuEntry
}

// menuPath is the item's Menu object.
func (d *desktop) menuPath(it sniItem) (dbus.ObjectPath, error) {
	v, err := d.prop(it, "Menu")
	if err != nil {
		return "", err
	}
	p, ok := v.Value().(dbus.ObjectPath)
	if !ok {
		return "", fmt.Errorf("Menu property of type %s", v.Signature())
	}
	return p, nil
}

// menu reads the item's whole menu (GetLayout from the root).
func (d *desktop) menu(it sniItem) ([]menuEntry, error) {
	p, err := d.menuPath(it)
	if err != nil {
		return nil, err
	}
	var rev uint32
	var root layoutNode
	if err := d.conn.Object(it.service, p).Call(menuIface+".GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &root); err != nil {
		return nil, fmt.Errorf("GetLayout: %w", err)
	}
	return root.entries()
}

// layoutNode is dbusmenu's (ia{sv}av).
type layoutNode struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []dbus.Variant
}

func (n layoutNode) entries() ([]menuEntry, error) {
	var out []menuEntry
	for _, c := range n.Children {
		var child layoutNode
		if err := dbus.Store([]any{c.Value()}, &child); err != nil {
			return nil, fmt.Errorf("menu entry %v: %w", c, err)
		}
		e := menuEntry{ID: child.ID, Enabled: true, Visible: true}
		if v, ok := child.Props["label"]; ok {
			e.Label, _ = v.Value().(string)
		}
		if v, ok := child.Props["enabled"]; ok {
			e.Enabled, _ = v.Value().(bool)
		}
		if v, ok := child.Props["visible"]; ok {
			e.Visible, _ = v.Value().(bool)
		}
		if v, ok := child.Props["type"]; ok {
			e.Type, _ = v.Value().(string)
		}
		var err error
		if e.Children, err = child.entries(); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// labels are the visible entries' labels, separators left out, submenus
// flattened after their parent.
func labels(es []menuEntry) []string {
	var out []string
	for _, e := range es {
		if !e.Visible || e.Type == "separator" {
			continue
		}
		out = append(out, e.Label)
		out = append(out, labels(e.Children)...)
	}
	return out
}

// find returns the visible entry whose label starts with prefix.
func find(es []menuEntry, prefix string) (menuEntry, bool) {
	for _, e := range es {
		if e.Visible && e.Type != "separator" && strings.HasPrefix(e.Label, prefix) {
			return e, true
		}
		if c, ok := find(e.Children, prefix); ok {
			return c, true
		}
	}
	return menuEntry{}, false
}

// click sends the "clicked" event for entry id, as the host does when the
// user picks it.
func (d *desktop) click(it sniItem, id int32) {
	d.t.Helper()
	p, err := d.menuPath(it)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.conn.Object(it.service, p).Call(menuIface+".Event", 0, id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err; err != nil {
		d.t.Fatalf("clicking menu entry %d: %v", id, err)
	}
}

// artifactsDir is $WACHT_TEST_ARTIFACTS, else bin/artifacts in the
// checkout (gitignored).
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WACHT_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "artifacts")
	}
	dir, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatalf("artifacts folder: %v", err)
	}
	return dir
}

// screenshot saves the whole screen as name (a .png) in the artifacts
// folder and returns it decoded.
func (d *desktop) screenshot(name string) image.Image {
	d.t.Helper()
	path := filepath.Join(artifactsDir(d.t), name)
	cmd := exec.Command("import", "-display", d.display, "-window", "root", "png:"+path)
	cmd.Env = d.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		d.t.Fatalf("screenshot with import: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		d.t.Fatalf("screenshot %s: %v", path, err)
	}
	d.t.Logf("screenshot: %s", path)
	return img
}

// openMenu clicks the first icon in the host's bar, as a user does, so
// that the host draws the item's menu (for the screenshot), and waits
// until it is drawn.
func (d *desktop) openMenu(name string) image.Image {
	d.t.Helper()
	cmd := exec.Command("xdotool", "mousemove", "15", "15", "click", "1")
	cmd.Env = d.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		d.t.Fatalf("xdotool: %v\n%s", err, out)
	}
	var shot image.Image
	waitFor(d.t, "the host to draw the menu", time.Minute, func() bool {
		shot = d.screenshot(name)
		return drawn(shot, image.Rect(0, 40, 400, 400)) >= 2000
	})
	return shot
}

// closeMenu closes an open menu with Escape.
func (d *desktop) closeMenu() {
	d.t.Helper()
	cmd := exec.Command("xdotool", "key", "Escape")
	cmd.Env = d.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		d.t.Fatalf("xdotool: %v\n%s", err, out)
	}
}

// drawn counts the pixels in r that are not the black background.
func drawn(img image.Image, r image.Rectangle) int {
	return r.Intersect(img.Bounds()).Dx()*r.Intersect(img.Bounds()).Dy() - countColour(img, [3]uint8{0, 0, 0}, r)
}

// countColour counts the pixels of img within 24 of c in every channel.
func countColour(img image.Image, c [3]uint8, within image.Rectangle) int {
	n := 0
	r := within.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(uint8(pr>>8), c[0]) && near(uint8(pg>>8), c[1]) && near(uint8(pb>>8), c[2]) {
				n++
			}
		}
	}
	return n
}

func near(a, b uint8) bool { return max(a, b)-min(a, b) <= 24 }

// pidOf returns the PID of the process owning a bus name.
func (d *desktop) pidOf(name string) int {
	var pid uint32
	if err := d.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, name).Store(&pid); err != nil {
		return 0
	}
	return int(pid)
}

// fakeItem is a minimal StatusNotifierItem with a two-entry menu, to test
// the harness without the tray app.
type fakeItem struct{ clicked chan int32 }

// fakeEntries are the fake menu's entries by ID.
var fakeEntries = map[int32]map[string]dbus.Variant{
	1: {"label": dbus.MakeVariant("Alles in Ordnung"), "enabled": dbus.MakeVariant(false)},
	2: {"label": dbus.MakeVariant("Klick mich"), "enabled": dbus.MakeVariant(true)},
}

func (f *fakeItem) GetLayout(parent, depth int32, names []string) (uint32, layoutNode, *dbus.Error) {
	var children []dbus.Variant
	for id := range int32(len(fakeEntries)) {
		children = append(children, dbus.MakeVariant(layoutNode{ID: id + 1, Props: fakeEntries[id+1], Children: []dbus.Variant{}}))
	}
	return 1, layoutNode{ID: 0, Props: map[string]dbus.Variant{"children-display": dbus.MakeVariant("submenu")}, Children: children}, nil
}

type groupProps struct {
	ID    int32
	Props map[string]dbus.Variant
}

func (f *fakeItem) GetGroupProperties(ids []int32, names []string) ([]groupProps, *dbus.Error) {
	var out []groupProps
	for _, id := range ids {
		if p, ok := fakeEntries[id]; ok {
			out = append(out, groupProps{id, p})
		}
	}
	return out, nil
}

func (f *fakeItem) Event(id int32, event string, _ dbus.Variant, _ uint32) *dbus.Error {
	if event == "clicked" {
		f.clicked <- id
	}
	return nil
}

func (f *fakeItem) AboutToShow(int32) (bool, *dbus.Error) { return false, nil }

// TestDesktopHarness registers a fake item on the private desktop and reads
// it back the way the tray test does; the host must draw its icon.
func TestDesktopHarness(t *testing.T) {
	d := newDesktop(t)
	conn, err := dbus.Connect(d.bus)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	colour := [3]uint8{0xe0, 0x20, 0xc0}
	const side = 32
	pix := make([]byte, 0, side*side*4)
	for range side * side {
		pix = append(pix, 0xff, colour[0], colour[1], colour[2])
	}
	f := &fakeItem{clicked: make(chan int32, 1)}
	if err := conn.Export(f, "/Menu", menuIface); err != nil {
		t.Fatal(err)
	}
	props := map[string]any{
		"Id": "harness", "Category": "ApplicationStatus", "Status": "Active", "Title": "Harness Prüfung",
		"IconName": "", "IconPixmap": []pixmap{{side, side, pix}}, "ItemIsMenu": true, "Menu": dbus.ObjectPath("/Menu"),
		"ToolTip": struct {
			Icon   string
			Pixmap []pixmap
			Title  string
			Text   string
		}{"", nil, "Harness Prüfung", "alles gut"},
	}
	spec := map[string]*prop.Prop{}
	for k, v := range props {
		spec[k] = &prop.Prop{Value: v, Emit: prop.EmitTrue}
	}
	if _, err := prop.Export(conn, "/StatusNotifierItem", prop.Map{sniIface: spec}); err != nil {
		t.Fatal(err)
	}
	if err := conn.Object(watcherName, watcherPath).Call(watcherName+".RegisterStatusNotifierItem", 0, conn.Names()[0]).Err; err != nil {
		t.Fatalf("registering the fake item: %v", err)
	}

	it := d.waitItem("the fake item")
	t.Logf("registered as %s %s", it.service, it.path)
	if got := d.title(it); got != "Harness Prüfung" {
		t.Errorf("title %q", got)
	}
	if title, text := d.tooltip(it); title != "Harness Prüfung" || text != "alles gut" {
		t.Errorf("tooltip %q %q", title, text)
	}
	icon, err := d.icon(it)
	if err != nil {
		t.Fatal(err)
	}
	if n := countColour(icon, colour, icon.Bounds()); n != side*side {
		t.Errorf("icon: %d of %d pixels in its colour", n, side*side)
	}
	m, err := d.menu(it)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(labels(m), "|"); got != "Alles in Ordnung|Klick mich" || m[0].Enabled || !m[1].Enabled {
		t.Errorf("menu %+v", m)
	}
	e, ok := find(m, "Klick")
	if !ok {
		t.Fatal("no entry Klick mich")
	}
	d.click(it, e.ID)
	select {
	case id := <-f.clicked:
		if id != 2 {
			t.Errorf("clicked %d, want 2", id)
		}
	case <-time.After(minWait):
		t.Fatal("the click did not arrive")
	}
	// The host draws the icon in its bar along the top of the screen.
	waitFor(t, "the host to draw the icon", time.Minute, func() bool {
		return countColour(d.screenshot("desktop-harness.png"), colour, image.Rect(0, 0, 1024, 40)) >= 100
	})
	d.openMenu("desktop-harness-menu.png")
	d.closeMenu()
}
