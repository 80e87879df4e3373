package service

import (
	"encoding/json"

	"github.com/wacht-rmm/wacht/internal/core"
)

// BuiltinScripts are the scripts Wacht ships, read-only in the library
// like the built-in policy templates. A changed body here becomes a new
// version at the next start.
func BuiltinScripts() []core.Script {
	days := core.ScriptParam{Name: "DAYS", Type: core.ParamNumber, Default: json.RawMessage(`7`),
		Label: core.Text{EN: "Delete files not used for this many days", DE: "Dateien löschen, die so viele Tage nicht benutzt wurden"}}
	return []core.Script{
		{
			Builtin: "clean-temp-unix", Name: "Clean temporary files (Linux/macOS)", Language: "sh", OS: []string{"darwin", "linux"},
			Description: core.Text{
				EN: "Deletes files in /tmp and /var/tmp that were not used for DAYS days (default 7) and reports the space before and after.",
				DE: "Löscht Dateien in /tmp und /var/tmp, die DAYS Tage (Vorgabe 7) nicht benutzt wurden, und meldet den Platz davor und danach."},
			Params: []core.ScriptParam{days}, TimeoutSeconds: 600, RunAs: core.RunAsSystem,
			Body: `set -u
case "$DAYS" in ''|*[!0-9]*) echo "DAYS must be a whole number" >&2; exit 2;; esac
df -h /tmp /var/tmp
for d in /tmp /var/tmp; do
  [ -d "$d" ] || continue
  n=$(find "$d" -xdev -type f -atime +"$DAYS" -print 2>/dev/null | wc -l)
  find "$d" -xdev -type f -atime +"$DAYS" -exec rm -f {} + 2>/dev/null
  echo "$d: removed $n files"
done
df -h /tmp /var/tmp
`,
		},
		{
			Builtin: "clean-temp-windows", Name: "Clean temporary folders (Windows)", Language: "powershell", OS: []string{"windows"},
			Description: core.Text{
				EN: "Deletes files in the Windows and the users' temporary folders that were not written for DAYS days (default 7); files in use are skipped.",
				DE: "Löscht Dateien in den temporären Ordnern von Windows und der Benutzer, die DAYS Tage (Vorgabe 7) nicht geschrieben wurden; benutzte Dateien bleiben."},
			Params: []core.ScriptParam{days}, TimeoutSeconds: 900, RunAs: core.RunAsSystem,
			Body: `$ErrorActionPreference = 'SilentlyContinue'
$limit = (Get-Date).AddDays(-[int]$env:DAYS)
$dirs = @("$env:SystemRoot\Temp") + (Get-ChildItem 'C:\Users' -Directory | ForEach-Object { Join-Path $_.FullName 'AppData\Local\Temp' })
$total = 0
foreach ($d in $dirs) {
  if (-not (Test-Path -LiteralPath $d)) { continue }
  $files = Get-ChildItem -LiteralPath $d -Recurse -File -Force | Where-Object { $_.LastWriteTime -lt $limit }
  $bytes = ($files | Measure-Object -Property Length -Sum).Sum
  $files | Remove-Item -Force
  $total += [long]$bytes
  Write-Output ("{0}: {1} files" -f $d, @($files).Count)
}
Write-Output ("Freed about {0:N1} MB" -f ($total / 1MB))
`,
		},
		{
			Builtin: "restart-spooler", Name: "Restart print spooler (Windows)", Language: "powershell", OS: []string{"windows"},
			Description: core.Text{
				EN: "Stops the print spooler, deletes stuck print jobs and starts it again.",
				DE: "Hält die Druckwarteschlange an, löscht hängende Druckaufträge und startet sie wieder."},
			Params: []core.ScriptParam{}, TimeoutSeconds: 120, RunAs: core.RunAsSystem,
			Body: `$ErrorActionPreference = 'Stop'
Stop-Service -Name Spooler -Force
Get-ChildItem "$env:SystemRoot\System32\spool\PRINTERS" -File -ErrorAction SilentlyContinue | Remove-Item -Force -ErrorAction SilentlyContinue
Start-Service -Name Spooler
Get-Service -Name Spooler | Format-Table -AutoSize Name, Status, StartType
`,
		},
		{
			Builtin: "disk-usage", Name: "Disk usage report (Linux/macOS)", Language: "sh", OS: []string{"darwin", "linux"},
			Description: core.Text{
				EN: "Shows the free space of every file system and the 15 largest folders below PATH (default /) on its file system.",
				DE: "Zeigt den freien Platz aller Dateisysteme und die 15 größten Ordner unter PATH (Vorgabe /) auf dessen Dateisystem."},
			Params: []core.ScriptParam{{Name: "PATH_TO_SCAN", Type: core.ParamText, Default: json.RawMessage(`"/"`),
				Label: core.Text{EN: "Folder to scan", DE: "Zu untersuchender Ordner"}}},
			TimeoutSeconds: 600, RunAs: core.RunAsSystem,
			Body: `df -h
echo
echo "Largest folders below $PATH_TO_SCAN:"
du -x -k -d 2 "$PATH_TO_SCAN" 2>/dev/null | sort -rn | head -n 15 | awk '{ printf "%10.1f MB  %s\n", $1/1024, substr($0, index($0, $2)) }'
`,
		},
		{
			Builtin: "flush-dns-windows", Name: "Flush DNS cache (Windows)", Language: "cmd", OS: []string{"windows"},
			Description: core.Text{
				EN: "Empties the Windows DNS client cache (ipconfig /flushdns).",
				DE: "Leert den DNS-Cache des Windows-DNS-Clients (ipconfig /flushdns)."},
			Params: []core.ScriptParam{}, TimeoutSeconds: 60, RunAs: core.RunAsSystem,
			Body: "@echo off\r\nipconfig /flushdns\r\n",
		},
		{
			Builtin: "flush-dns-unix", Name: "Flush DNS cache (Linux/macOS)", Language: "sh", OS: []string{"darwin", "linux"},
			Description: core.Text{
				EN: "Empties the DNS cache: systemd-resolved on Linux (nscd and dnsmasq if running), mDNSResponder on macOS.",
				DE: "Leert den DNS-Cache: systemd-resolved unter Linux (nscd und dnsmasq, falls aktiv), mDNSResponder unter macOS."},
			Params: []core.ScriptParam{}, TimeoutSeconds: 60, RunAs: core.RunAsSystem,
			Body: `if [ "$(uname)" = Darwin ]; then
  dscacheutil -flushcache && killall -HUP mDNSResponder && echo "macOS DNS cache flushed"
  exit $?
fi
done=0
if command -v resolvectl >/dev/null 2>&1 && resolvectl flush-caches 2>/dev/null; then echo "systemd-resolved cache flushed"; done=1; fi
if command -v nscd >/dev/null 2>&1 && nscd -i hosts 2>/dev/null; then echo "nscd hosts cache flushed"; done=1; fi
if pkill -HUP -x dnsmasq 2>/dev/null; then echo "dnsmasq cache flushed"; done=1; fi
[ "$done" = 1 ] || { echo "no local DNS cache found (nothing to flush)"; }
`,
		},
	}
}
