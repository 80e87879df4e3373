//go:build windows

package agent

import (
	"context"
	"strconv"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestExecConsoleUTF8 runs cmd.exe for real (on Windows, and under Wine in
// the Windows lane, test/e2e/wine_test.go): German umlauts in a builtin's
// output arrive as UTF-8, on stdout and stderr; and output a command writes
// in the OEM code page after switching back to it is decoded from there.
func TestExecConsoleUTF8(t *testing.T) {
	ctx := context.Background()
	res, err := runExec(ctx, protocol.ExecArgs{Shell: "cmd", Command: "echo Grüße @ \\& echo ÄÖÜ>&2& exit /b 3"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "Grüße @ \\\r\n" || res.Stderr != "ÄÖÜ\r\n" || res.ExitCode != 3 {
		t.Errorf("cmd: %+v, want Grüße @ \\, ÄÖÜ on stderr and exit code 3", res)
	}
	oem, _, _ := getOEMCP.Call()
	if _, ok := codePages[uint32(oem)]; !ok {
		t.Skipf("OEM code page %d is not a single-byte one decodeOutput knows", oem)
	}
	res, err = runExec(ctx, protocol.ExecArgs{Shell: "cmd", Command: "chcp " + strconv.Itoa(int(oem)) + ">nul& echo Grüße"})
	if err != nil || res.Stdout != "Grüße\r\n" {
		t.Errorf("cmd in code page %d: %+v %v, want Grüße", oem, res, err)
	}
}
