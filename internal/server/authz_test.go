package server

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/server/web"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// matrixPackage is a valid package definition.
const matrixPackage = `{"name":"7-Zip","version":"24.09","os":"windows","kind":"winget","manager_id":"7zip.7zip",` +
	`"detection":{"kind":"registry","display_name":"7-Zip*"}}`

// routeSpec says how the authorization matrix exercises one route.
type routeSpec struct {
	perm authz.Perm
	// kind of the object in the path ({id}) or body ({client}): "" for
	// none, "list" for a list that must not show foreign objects, or
	// client, site, device, token, user.
	kind string
	path string // with {id}; "" = the pattern's path
	body string // JSON (API) or form (dashboard), with {id} and {client}
	// ok is the status that means "reached and served" when it is not 2xx
	// or 3xx (a catch-all answers 404, a command to an offline agent 409).
	ok int
}

// authzTable is the authorization table: every route of the API and the
// dashboard with the permission it must require. TestRoutesAreInTable fails
// for a registered route missing here, and for an entry no longer
// registered.
var authzTable = map[string]routeSpec{
	// API: agent files and rollouts (issue 21): internal/server/api/handlers_releases.go.
	"GET /api/v1/agent-files":            {perm: authz.Read},
	"POST /api/v1/agent-files":           {perm: authz.Admin, body: "{}", ok: http.StatusBadRequest}, // not multipart
	"DELETE /api/v1/agent-files/{id}":    {perm: authz.Admin, path: "/api/v1/agent-files/999999", ok: http.StatusNotFound},
	"GET /api/v1/rollouts":               {perm: authz.Admin},
	"POST /api/v1/rollouts":              {perm: authz.Admin, body: `{"version":"9.9.9"}`, ok: http.StatusBadRequest},
	"GET /api/v1/rollouts/{id}":          {perm: authz.Admin, path: "/api/v1/rollouts/999999", ok: http.StatusNotFound},
	"POST /api/v1/rollouts/{id}/pause":   {perm: authz.Admin, path: "/api/v1/rollouts/999999/pause", ok: http.StatusNotFound},
	"POST /api/v1/rollouts/{id}/resume":  {perm: authz.Admin, path: "/api/v1/rollouts/999999/resume", ok: http.StatusNotFound},
	"POST /api/v1/rollouts/{id}/promote": {perm: authz.Admin, path: "/api/v1/rollouts/999999/promote", ok: http.StatusNotFound},
	"POST /api/v1/rollouts/{id}/cancel":  {perm: authz.Admin, path: "/api/v1/rollouts/999999/cancel", ok: http.StatusNotFound},
	"GET /api/v1/agent-versions":         {perm: authz.Admin},
	// Dashboard: the Agents page (issue 21): internal/server/web/agents.go.
	"GET /agents":                        {perm: authz.Admin},
	"POST /agents/files":                 {perm: authz.Admin, body: "x=1", ok: http.StatusBadRequest}, // not multipart
	"POST /agents/files/{id}/delete":     {body: "confirm=yes", perm: authz.Admin, path: "/agents/files/999999/delete", ok: http.StatusNotFound},
	"POST /agents/rollouts":              {perm: authz.Admin, body: "version=9.9.9", ok: http.StatusBadRequest},
	"GET /agents/rollouts/{id}/progress": {perm: authz.Admin, path: "/agents/rollouts/999999/progress", ok: http.StatusNotFound},
	"POST /agents/rollouts/{id}/pause":   {perm: authz.Admin, path: "/agents/rollouts/999999/pause", ok: http.StatusNotFound},
	"POST /agents/rollouts/{id}/resume":  {perm: authz.Admin, path: "/agents/rollouts/999999/resume", ok: http.StatusNotFound},
	"POST /agents/rollouts/{id}/promote": {perm: authz.Admin, path: "/agents/rollouts/999999/promote", ok: http.StatusNotFound},
	"POST /agents/rollouts/{id}/cancel":  {perm: authz.Admin, path: "/agents/rollouts/999999/cancel", ok: http.StatusNotFound},

	// API
	"GET /api/v1/devices":                  {perm: authz.Read, kind: "list"},
	"GET /api/v1/devices/{id}":             {perm: authz.Read, kind: "device"},
	"GET /api/v1/devices/{id}/checks":      {perm: authz.Read, kind: "device"},
	"POST /api/v1/devices/{id}/run-checks": {perm: authz.Operate, kind: "device", ok: http.StatusConflict},
	"PATCH /api/v1/devices/{id}":           {perm: authz.Operate, kind: "device", body: `{"role":"server","tags":["vip"]}`},
	"POST /api/v1/devices/{id}/retire":     {perm: authz.Operate, kind: "device"},
	"/api/v1/":                             {perm: authz.Authenticated, path: "/api/v1/nope", ok: http.StatusNotFound},
	"GET /api/v1/clients":                  {perm: authz.Read, kind: "list"},
	"POST /api/v1/clients":                 {perm: authz.Admin, body: `{"name":"Neukunde GmbH"}`},
	"GET /api/v1/clients/{id}":             {perm: authz.Read, kind: "client"},
	"PATCH /api/v1/clients/{id}":           {perm: authz.Operate, kind: "client", body: `{"contact_name":"Eva"}`},
	"DELETE /api/v1/clients/{id}":          {perm: authz.Admin, kind: "client", path: "/api/v1/clients/{id}?confirm=true"},
	"GET /api/v1/sites":                    {perm: authz.Read, kind: "list"},
	"POST /api/v1/sites":                   {perm: authz.Operate, kind: "client", body: `{"client_id":{client},"name":"Lager"}`},
	"GET /api/v1/sites/{id}":               {perm: authz.Read, kind: "site"},
	"PATCH /api/v1/sites/{id}":             {perm: authz.Operate, kind: "site", body: `{"name":"Zentrale"}`},
	"DELETE /api/v1/sites/{id}":            {perm: authz.Operate, kind: "site", path: "/api/v1/sites/{id}?confirm=true"},
	"GET /api/v1/users":                    {perm: authz.Admin},
	"POST /api/v1/users":                   {perm: authz.Admin, body: `{"email":"neu@example.com","password":"lang genug!","role":"readonly"}`},
	"DELETE /api/v1/users/{id}/2fa":        {perm: authz.Admin, kind: "user"},
	"PATCH /api/v1/users/{id}":             {perm: authz.Admin, kind: "user", body: `{"role":"readonly","scope":{"restricted":true,"clients":[{client}]}}`},
	"POST /api/v1/users/{id}/disable":      {perm: authz.Admin, kind: "user"},
	"POST /api/v1/users/{id}/enable":       {perm: authz.Admin, kind: "user"},
	"DELETE /api/v1/users/{id}":            {perm: authz.Admin, kind: "user"},
	"GET /api/v1/tokens":                   {perm: authz.Authenticated},
	"POST /api/v1/tokens":                  {perm: authz.Authenticated, body: `{"name":"ci","role":"readonly"}`},
	"DELETE /api/v1/tokens/{id}":           {perm: authz.Authenticated, kind: "token"},
	"PUT /api/v1/settings/require-2fa":     {perm: authz.Admin, body: `{"required":false}`},
	"GET /api/v1/settings/server-checks":   {perm: authz.Admin},
	"PUT /api/v1/settings/server-checks":   {perm: authz.Admin, body: `{"allow":["192.0.2.0/24"]}`},
	"GET /api/v1/settings/remote":          {perm: authz.Admin},
	"PUT /api/v1/settings/remote":          {perm: authz.Admin, body: `{"require_2fa":false,"recording_retention_days":90}`},
	"GET /api/v1/audit":                    {perm: authz.Admin},
	// Enrollment tokens and installers (issue 21). No installer is
	// published in the matrix (404).
	"GET /api/v1/sites/{id}/enrollment-tokens":  {perm: authz.Read, kind: "site"},
	"POST /api/v1/sites/{id}/enrollment-tokens": {perm: authz.Admin, kind: "site", body: `{"label":"Matrix","max_uses":1}`},
	"DELETE /api/v1/enrollment-tokens/{id}":     {perm: authz.Admin, kind: "enrollment-token"},
	"GET /api/v1/installers/{kind}/{arch}":      {perm: authz.Read, path: "/api/v1/installers/msi/amd64", ok: http.StatusNotFound},
	// Dashboard: "Add device" (internal/server/web/enroll.go).
	"GET /sites/{id}/add-device":                        {perm: authz.Read, kind: "site"},
	"POST /sites/{id}/enrollment-tokens":                {perm: authz.Admin, kind: "site", body: "label=Matrix&days=7&max_uses=1"},
	"POST /sites/{id}/enrollment-tokens/{token}/revoke": {body: "confirm=yes", perm: authz.Admin, kind: "site", path: "/sites/{id}/enrollment-tokens/999999/revoke", ok: http.StatusNotFound},
	"GET /installers/{kind}/{arch}":                     {perm: authz.Read, path: "/installers/msi/amd64", ok: http.StatusNotFound},
	// Terminal (issue 15): the matrix's service has no agents (409); the
	// websocket itself: internal/server/web/browser_terminal_test.go.
	"GET /api/v1/devices/{id}/terminal": {perm: authz.Remote, kind: "device", ok: http.StatusConflict},
	"GET /api/v1/recordings/{id}":       {perm: authz.Admin, path: "/api/v1/recordings/999999", ok: http.StatusNotFound},
	"GET /api/v1/audit.csv":             {perm: authz.Admin},

	// The file browser: no agent is connected in the matrix (409).
	"GET /api/v1/devices/{id}/files":         {perm: authz.Remote, kind: "device", path: "/api/v1/devices/{id}/files?path=/tmp", ok: http.StatusConflict},
	"DELETE /api/v1/devices/{id}/files":      {perm: authz.Remote, kind: "device", path: "/api/v1/devices/{id}/files?path=/tmp/x", ok: http.StatusConflict},
	"POST /api/v1/devices/{id}/files/mkdir":  {perm: authz.Remote, kind: "device", body: `{"path":"/tmp/neu"}`, ok: http.StatusConflict},
	"POST /api/v1/devices/{id}/files/rename": {perm: authz.Remote, kind: "device", body: `{"from":"/tmp/a","to":"/tmp/b"}`, ok: http.StatusConflict},
	"GET /api/v1/devices/{id}/files/content": {perm: authz.Remote, kind: "device", path: "/api/v1/devices/{id}/files/content?path=/tmp/a", ok: http.StatusConflict},
	"PUT /api/v1/devices/{id}/files/content": {perm: authz.Remote, kind: "device", path: "/api/v1/devices/{id}/files/content?path=/tmp/a", body: "Grüße", ok: http.StatusConflict},
	"GET /devices/{id}/files":                {perm: authz.Remote, kind: "device", ok: http.StatusConflict},
	"GET /devices/{id}/files/content":        {perm: authz.Remote, kind: "device", path: "/devices/{id}/files/content?path=/tmp/a", ok: http.StatusConflict},
	"PUT /devices/{id}/files/content":        {perm: authz.Remote, kind: "device", path: "/devices/{id}/files/content?dir=/tmp&name=a", body: "Grüße", ok: http.StatusConflict},
	"POST /devices/{id}/files/mkdir":         {perm: authz.Remote, kind: "device", body: "dir=/tmp&name=neu", ok: http.StatusConflict},
	"POST /devices/{id}/files/rename":        {perm: authz.Remote, kind: "device", body: "dir=/tmp&name=a&to=b", ok: http.StatusConflict},
	"POST /devices/{id}/files/delete":        {perm: authz.Remote, kind: "device", body: "dir=/tmp&name=a&confirm=yes", ok: http.StatusConflict},

	// Policies (issue 3, parts 2–4). Policies are global templates; their
	// assignments are scoped by the client, site or device they attach to.
	"GET /api/v1/policies":                      {perm: authz.Read},
	"GET /api/v1/check-types":                   {perm: authz.Read},
	"POST /api/v1/policies":                     {perm: authz.Admin, body: `{"name":"Neu","checks":[{"name":"cpu","type":"cpu"}]}`},
	"GET /api/v1/policies/{id}":                 {perm: authz.Read, kind: "policy"},
	"PUT /api/v1/policies/{id}":                 {perm: authz.Admin, kind: "policy", body: `{"name":"Geändert","checks":[{"name":"cpu","type":"cpu"}]}`},
	"DELETE /api/v1/policies/{id}":              {perm: authz.Admin, kind: "policy"},
	"GET /api/v1/default/policies":              {perm: authz.Read},
	"PUT /api/v1/default/policies":              {perm: authz.Admin, body: `{"policy_ids":[]}`},
	"GET /api/v1/clients/{id}/policies":         {perm: authz.Read, kind: "client"},
	"PUT /api/v1/clients/{id}/policies":         {perm: authz.Operate, kind: "client", body: `{"policy_ids":[]}`},
	"GET /api/v1/sites/{id}/policies":           {perm: authz.Read, kind: "site"},
	"PUT /api/v1/sites/{id}/policies":           {perm: authz.Operate, kind: "site", body: `{"policy_ids":[]}`},
	"GET /api/v1/devices/{id}/policies":         {perm: authz.Read, kind: "device"},
	"PUT /api/v1/devices/{id}/policies":         {perm: authz.Operate, kind: "device", body: `{"policy_ids":[]}`},
	"GET /api/v1/devices/{id}/effective-policy": {perm: authz.Read, kind: "device"},
	"GET /api/v1/devices/{id}/software-state":   {perm: authz.Read, kind: "device"},
	"GET /api/v1/clients/{id}/software-state":   {perm: authz.Read, kind: "client"},

	// Check history (issue 4): internal/server/api/history.go.
	"GET /api/v1/devices/{id}/checks/{name}/history": {perm: authz.Read, kind: "device", path: "/api/v1/devices/{id}/checks/cpu/history?limit=10"},

	// Alerting (issue 6): internal/server/api/alerts.go.
	"GET /api/v1/outages":                            {perm: authz.Read},
	"GET /api/v1/devices/{id}/outages":               {perm: authz.Read, kind: "device"},
	"POST /api/v1/outages/{id}/ack":                  {perm: authz.Operate, path: "/api/v1/outages/999999/ack", body: `{"comment":"x"}`, ok: http.StatusNotFound},
	"POST /api/v1/devices/{id}/checks/{check}/clear": {perm: authz.Operate, kind: "device", path: "/api/v1/devices/{id}/checks/999999/clear", body: `{"until_pass":true}`, ok: http.StatusNotFound},
	"GET /api/v1/alerts/presence":                    {perm: authz.Read},
	"GET /api/v1/alerts/settings":                    {perm: authz.Admin},
	"PUT /api/v1/alerts/settings":                    {perm: authz.Admin, body: `{"offline_after_server":120}`},
	"POST /api/v1/alerts/settings/test":              {perm: authz.Admin, body: `{"to":"tech@example.com"}`, ok: http.StatusBadRequest},
	"GET /api/v1/alerts/recipients":                  {perm: authz.Admin},
	"POST /api/v1/alerts/recipients":                 {perm: authz.Admin, body: `{"level":"default","channel":"email","target":"noc@example.com"}`},
	"DELETE /api/v1/alerts/recipients/{id}":          {perm: authz.Admin, path: "/api/v1/alerts/recipients/999999", ok: http.StatusNotFound},
	"GET /api/v1/alerts/outbox":                      {perm: authz.Admin},
	"POST /api/v1/alerts/outbox/{id}/retry":          {perm: authz.Admin, path: "/api/v1/alerts/outbox/999999/retry", ok: http.StatusNotFound},

	// Maintenance windows (issue 6): internal/server/api/maintenance.go.
	// The {id} routes are sent an ID that does not exist; scope and
	// changes: api/maintenance_test.go.
	"GET /api/v1/maintenance":         {perm: authz.Read, kind: "client", path: "/api/v1/maintenance?client={id}"},
	"POST /api/v1/maintenance":        {perm: authz.Operate, kind: "client", body: `{"scope":"client","target_id":{client},"title":"Patchday","repeat":"weekly","weekdays":[2],"from":"22:00","to":"02:00"}`},
	"GET /api/v1/maintenance/{id}":    {perm: authz.Read, path: "/api/v1/maintenance/999999", ok: http.StatusNotFound},
	"PUT /api/v1/maintenance/{id}":    {perm: authz.Operate, path: "/api/v1/maintenance/999999", body: `{"scope":"client","target_id":1,"title":"x","repeat":"daily","from":"01:00","to":"02:00"}`, ok: http.StatusNotFound},
	"DELETE /api/v1/maintenance/{id}": {perm: authz.Operate, path: "/api/v1/maintenance/999999", ok: http.StatusNotFound},

	// Protection at a glance (issue 8): internal/server/api/protection.go.
	"GET /api/v1/protection": {perm: authz.Read, kind: "list"},

	// Daily reports (issue 6): internal/server/api/reports.go. The matrix's
	// clients have no contact e-mail, so sending answers 400.
	"GET /api/v1/clients/{id}/report":          {perm: authz.Read, kind: "client", path: "/api/v1/clients/{id}/report?format=text"},
	"POST /api/v1/clients/{id}/report/send":    {perm: authz.Operate, kind: "client", ok: http.StatusBadRequest},
	"GET /api/v1/clients/{id}/report-settings": {perm: authz.Read, kind: "client"},
	"PUT /api/v1/clients/{id}/report-settings": {perm: authz.Operate, kind: "client", body: `{"enabled":true,"recipients":["it@example.com"],"hour":"06:30"}`},

	// Monthly report and its logo (issue 22): internal/server/api/handlers_monthly.go.
	// The matrix sends JSON, which is not an image: 400; no logo yet: 404.
	"GET /api/v1/clients/{id}/monthly-report.pdf": {perm: authz.Read, kind: "client"},
	"GET /api/v1/settings/report-logo":            {perm: authz.Read, ok: http.StatusNotFound},
	"PUT /api/v1/settings/report-logo":            {perm: authz.Admin, body: "{}", ok: http.StatusBadRequest},
	"DELETE /api/v1/settings/report-logo":         {perm: authz.Admin},

	// Network devices (issue 5): internal/server/api/netdevices.go. The
	// {id} routes are sent an agent's ID, which is no network device.
	"GET /api/v1/sites/{id}/network-devices":  {perm: authz.Read, kind: "site"},
	"POST /api/v1/sites/{id}/network-devices": {perm: authz.Operate, kind: "site", body: `{"name":"Drucker","type":"printer","address":"127.0.0.1","checks":[]}`},
	"GET /api/v1/network-devices/{id}":        {perm: authz.Read, kind: "device", ok: http.StatusNotFound},
	"PUT /api/v1/network-devices/{id}":        {perm: authz.Operate, kind: "device", ok: http.StatusNotFound, body: `{"name":"x","type":"router","checks":[]}`},
	"DELETE /api/v1/network-devices/{id}":     {perm: authz.Operate, kind: "device", ok: http.StatusNotFound},

	// Remote management (issue 15): internal/server/api/handlers_remote.go.
	// The matrix's service has no gateway, so an allowed call ends as
	// offline (409).
	"POST /api/v1/devices/{id}/exec":                      {perm: authz.Remote, kind: "device", body: `{"shell":"sh","command":"uptime","timeout_seconds":5}`, ok: http.StatusConflict},
	"GET /api/v1/devices/{id}/processes":                  {perm: authz.Remote, kind: "device", ok: http.StatusConflict},
	"POST /api/v1/devices/{id}/processes/{pid}/kill":      {perm: authz.Remote, kind: "device", path: "/api/v1/devices/{id}/processes/4242/kill?tree=true", ok: http.StatusConflict},
	"GET /api/v1/devices/{id}/services":                   {perm: authz.Remote, kind: "device", ok: http.StatusConflict},
	"POST /api/v1/devices/{id}/services/{name}/{op}":      {perm: authz.Remote, kind: "device", path: "/api/v1/devices/{id}/services/cron/restart", ok: http.StatusConflict},
	"PUT /api/v1/devices/{id}/services/{name}/start-type": {perm: authz.Remote, kind: "device", path: "/api/v1/devices/{id}/services/cron/start-type", body: `{"start_type":"manual"}`, ok: http.StatusConflict},

	// Script library (issue 16): internal/server/api/handlers_scripts.go.
	// Changes need Remote (a script is code run on customers' machines);
	// the {id} routes are sent an ID that does not exist; changes and
	// versions: api/scripts_test.go.
	"GET /api/v1/scripts":         {perm: authz.Read},
	"POST /api/v1/scripts":        {perm: authz.Remote, body: `{"name":"Matrix","language":"sh","body":"echo"}`},
	"GET /api/v1/scripts/{id}":    {perm: authz.Read, path: "/api/v1/scripts/999999", ok: http.StatusNotFound},
	"PUT /api/v1/scripts/{id}":    {perm: authz.Remote, path: "/api/v1/scripts/999999", body: `{"name":"x","language":"sh","body":"echo"}`, ok: http.StatusNotFound},
	"DELETE /api/v1/scripts/{id}": {perm: authz.Remote, path: "/api/v1/scripts/999999", ok: http.StatusNotFound},
	// Inventory (issue 18): searches and the export list only the
	// caller's clients; the matrix's service has no agents (refresh: 409).
	"GET /api/v1/devices/{id}/inventory":          {perm: authz.Read, kind: "device"},
	"GET /api/v1/devices/{id}/inventory/changes":  {perm: authz.Read, kind: "device"},
	"POST /api/v1/devices/{id}/inventory/refresh": {perm: authz.Operate, kind: "device", body: `{"full":true}`, ok: http.StatusConflict},
	"GET /api/v1/inventory/software":              {perm: authz.Read, kind: "list", path: "/api/v1/inventory/software?name=zip"},
	"GET /api/v1/inventory/devices":               {perm: authz.Read, kind: "list"},
	"GET /api/v1/inventory/export.csv":            {perm: authz.Read, kind: "list"},
	// Patch management (issue 19): internal/server/api/patches_test.go. The
	// matrix's service has no agents (scan, install: 409); approvals are
	// sent a patch that does not exist (404 once the client is in scope).
	"GET /api/v1/devices/{id}/updates":          {perm: authz.Read, kind: "device"},
	"POST /api/v1/devices/{id}/updates/scan":    {perm: authz.Operate, kind: "device", ok: http.StatusConflict},
	"POST /api/v1/devices/{id}/updates/install": {perm: authz.Operate, kind: "device", body: `{}`, ok: http.StatusConflict},
	"GET /api/v1/patches":                       {perm: authz.Read, path: "/api/v1/patches?severity=important"},
	"GET /api/v1/patches/compliance":            {perm: authz.Read, kind: "list"},
	"PUT /api/v1/patches/{id}/approval":         {perm: authz.Operate, kind: "client", path: "/api/v1/patches/999999/approval", body: `{"client":{client},"approved":true}`, ok: http.StatusNotFound},
	"DELETE /api/v1/patches/{id}/approval":      {perm: authz.Operate, kind: "client", path: "/api/v1/patches/999999/approval", body: `{"client":{client}}`, ok: http.StatusNotFound},
	// The tray app (issue 20): internal/server/api/support_test.go. The
	// matrix sends JSON, which an icon upload refuses before anything
	// (415); it has no support requests (404 once authorized).
	"GET /api/v1/clients/{id}/branding":            {perm: authz.Read, kind: "client"},
	"PUT /api/v1/clients/{id}/branding":            {perm: authz.Operate, kind: "client", body: `{"show":true,"product_name":"Müller IT"}`},
	"GET /api/v1/clients/{id}/branding/icon":       {perm: authz.Read, kind: "client", ok: http.StatusNotFound},
	"PUT /api/v1/clients/{id}/branding/icon":       {perm: authz.Operate, path: "/api/v1/clients/1/branding/icon", ok: http.StatusUnsupportedMediaType},
	"DELETE /api/v1/clients/{id}/branding/icon":    {perm: authz.Operate, kind: "client"},
	"GET /api/v1/support-requests":                 {perm: authz.Read, path: "/api/v1/support-requests?state=new"},
	"GET /api/v1/support-requests/{id}":            {perm: authz.Read, path: "/api/v1/support-requests/999999", ok: http.StatusNotFound},
	"GET /api/v1/support-requests/{id}/screenshot": {perm: authz.Read, path: "/api/v1/support-requests/999999/screenshot", ok: http.StatusNotFound},
	"PATCH /api/v1/support-requests/{id}":          {perm: authz.Operate, path: "/api/v1/support-requests/999999", body: `{"state":"done"}`, ok: http.StatusNotFound},

	// API: contracts, billing runs and time entries (issue 22): internal/server/api/handlers_billing.go.
	"GET /api/v1/clients/{id}/contract":   {perm: authz.Admin, kind: "client"},
	"PUT /api/v1/clients/{id}/contract":   {perm: authz.Admin, kind: "client", body: `{"plan":"All-in-one","price_cents":12900,"activation_cents":3900,"hourly_rate_cents":9500,"gross":true,"vat_basis_points":1900,"period":"monthly","start":"2026-01-01","reactivate_months":6}`},
	"DELETE /api/v1/contracts/{id}":       {perm: authz.Admin, path: "/api/v1/contracts/999999", ok: http.StatusNotFound},
	"GET /api/v1/billing":                 {perm: authz.Admin},
	"GET /api/v1/billing/runs":            {perm: authz.Admin},
	"POST /api/v1/billing/runs":           {perm: authz.Admin, body: `{}`},
	"GET /api/v1/billing/runs/{id}":       {perm: authz.Admin, path: "/api/v1/billing/runs/999999.csv", ok: http.StatusNotFound},
	"GET /api/v1/time-entries":            {perm: authz.Operate},
	"POST /api/v1/time-entries":           {perm: authz.Operate, kind: "client", body: `{"client_id":{client},"minutes":30,"note":"Drucker"}`},
	"PUT /api/v1/time-entries/{id}":       {perm: authz.Operate, path: "/api/v1/time-entries/999999", body: `{"minutes":5}`, ok: http.StatusNotFound},
	"DELETE /api/v1/time-entries/{id}":    {perm: authz.Operate, path: "/api/v1/time-entries/999999", ok: http.StatusNotFound},
	"POST /api/v1/time-entries/{id}/stop": {perm: authz.Operate, path: "/api/v1/time-entries/999999/stop", ok: http.StatusNotFound},
	// Software packages (issue 17): reading for every role, changing for
	// administrators; validation, secrets and uploads: api/packages_test.go.
	"GET /api/v1/packages":                 {perm: authz.Read},
	"POST /api/v1/packages":                {perm: authz.Admin, body: matrixPackage},
	"GET /api/v1/packages/{id}":            {perm: authz.Read, path: "/api/v1/packages/999999", ok: http.StatusNotFound},
	"PUT /api/v1/packages/{id}":            {perm: authz.Admin, path: "/api/v1/packages/999999", body: matrixPackage, ok: http.StatusNotFound},
	"DELETE /api/v1/packages/{id}":         {perm: authz.Admin, path: "/api/v1/packages/999999", ok: http.StatusNotFound},
	"PUT /api/v1/packages/{id}/file":       {perm: authz.Admin, path: "/api/v1/packages/999999/file?name=setup.msi", body: "MZ", ok: http.StatusNotFound},
	"POST /api/v1/packages/{id}/duplicate": {perm: authz.Admin, path: "/api/v1/packages/999999/duplicate", body: "{}", ok: http.StatusNotFound},
	// Deploying is a remote action on the devices of a client: package 1
	// (a Windows catalog entry) fits none of the own Linux devices.
	"POST /api/v1/packages/{id}/deploy": {perm: authz.Remote, kind: "client", path: "/api/v1/packages/1/deploy", body: `{"action":"install","client":{client}}`, ok: http.StatusBadRequest},
	// Script 1 is the first built-in one (Linux and macOS), run on the
	// caller's own or a foreign client.
	"POST /api/v1/scripts/{id}/run": {perm: authz.Remote, kind: "client", path: "/api/v1/scripts/1/run", body: `{"client":{client}}`},
	"GET /api/v1/jobs/{id}":         {perm: authz.Read, path: "/api/v1/jobs/999999", ok: http.StatusNotFound},
	"POST /api/v1/jobs/{id}/cancel": {perm: authz.Remote, path: "/api/v1/jobs/999999/cancel", ok: http.StatusNotFound},
	"GET /api/v1/devices/{id}/runs": {perm: authz.Read, kind: "device"},

	// Dashboard
	"POST /logout":                     {perm: authz.Authenticated},
	"POST /lang":                       {perm: authz.Authenticated, body: "lang=de&next=/"},
	"GET /{$}":                         {perm: authz.Read, kind: "list", path: "/"},
	"GET /partials/devices":            {perm: authz.Read, kind: "list"},
	"GET /devices/{id}":                {perm: authz.Read, kind: "device"},
	"GET /devices/{id}/checks":         {perm: authz.Read, kind: "device"},
	"GET /devices/{id}/run-progress":   {perm: authz.Read, kind: "device", path: "/devices/{id}/run-progress?since=1&checks=1"},
	"GET /settings":                    {perm: authz.Authenticated},
	"POST /devices/{id}/run-checks":    {perm: authz.Operate, kind: "device", ok: http.StatusConflict},
	"POST /devices/bulk":               {perm: authz.Operate, body: "action=run_checks", ok: http.StatusBadRequest}, // no device ticked
	"POST /views":                      {perm: authz.Read, body: "name=Offline&filters=online%3Dno"},
	"POST /views/{id}/delete":          {body: "confirm=yes", perm: authz.Read, path: "/views/999999/delete", ok: http.StatusNotFound},
	"/":                                {perm: authz.Authenticated, path: "/nope", ok: http.StatusNotFound},
	"GET /account/tokens":              {perm: authz.Authenticated},
	"POST /account/tokens":             {perm: authz.Authenticated, body: "name=ci&role=readonly&days=30"},
	"POST /account/tokens/{id}/revoke": {body: "confirm=yes", perm: authz.Authenticated, kind: "token"},
	"GET /account/2fa":                 {perm: authz.Authenticated},
	"POST /account/2fa":                {perm: authz.Authenticated, body: "code=000000", ok: http.StatusBadRequest},
	"GET /clients":                     {perm: authz.Read, kind: "list"},
	"POST /clients":                    {perm: authz.Admin, body: "name=Neukunde GmbH&report_lang=de"},
	"GET /clients/{id}":                {perm: authz.Read, kind: "client"},
	"POST /clients/{id}":               {perm: authz.Operate, kind: "client", body: "name=Umbenannt {id}&report_lang=en"},
	"POST /clients/{id}/delete":        {perm: authz.Admin, kind: "client", body: "confirm=yes"},
	"POST /clients/{id}/sites":         {perm: authz.Operate, kind: "client", body: "name=Lager"},
	"POST /sites/{id}/rename":          {perm: authz.Operate, kind: "site", body: "name=Umbenannt"},
	"POST /sites/{id}/delete":          {perm: authz.Operate, kind: "site", body: "confirm=yes"},
	"POST /devices/{id}/edit":          {perm: authz.Operate, kind: "device", body: "role=server&tags=vip,buchhaltung"},
	"POST /devices/{id}/retire":        {perm: authz.Operate, kind: "device"},
	"GET /users":                       {perm: authz.Admin},
	"POST /users":                      {perm: authz.Admin, body: "email=neu@example.com&password=lang+genug!&role=readonly"},
	"POST /users/{id}/reset-2fa":       {perm: authz.Admin, kind: "user"},
	"POST /users/{id}":                 {perm: authz.Admin, kind: "user", body: "role=readonly&clients={client}"},
	"POST /users/{id}/disable":         {perm: authz.Admin, kind: "user"},
	"POST /users/{id}/enable":          {perm: authz.Admin, kind: "user"},
	"POST /users/{id}/delete":          {perm: authz.Admin, kind: "user", body: "confirm=yes"},
	"POST /settings/2fa":               {perm: authz.Admin, body: "required=false"},
	"GET /audit":                       {perm: authz.Admin},
	"GET /audit.csv":                   {perm: authz.Admin},
	// Dashboard: check history (issue 4): internal/server/web/history.go.
	"GET /devices/{id}/history":  {perm: authz.Read, kind: "device", path: "/devices/{id}/history?check=cpu"},
	"GET /devices/{id}/software": {perm: authz.Read, kind: "device"},
	"GET /clients/{id}/software": {perm: authz.Read, kind: "client"},
	// Dashboard: inventory (issue 18): internal/server/web/inventory.go.
	"GET /devices/{id}/inventory":          {perm: authz.Read, kind: "device"},
	"GET /devices/{id}/inventory/changes":  {perm: authz.Read, kind: "device"},
	"POST /devices/{id}/inventory/refresh": {perm: authz.Operate, kind: "device", ok: http.StatusConflict},
	"GET /inventory":                       {perm: authz.Read, kind: "list", path: "/inventory?search=devices"},
	"GET /inventory/export.csv":            {perm: authz.Read, kind: "client", path: "/inventory/export.csv?client={id}"},
	// Patch management pages (issue 19); an unconnected agent is a
	// warning notice after a redirect, an unknown end-of-life key or
	// patch 404.
	"GET /devices/{id}/updates":          {perm: authz.Read, kind: "device"},
	"POST /devices/{id}/updates/scan":    {perm: authz.Operate, kind: "device"},
	"POST /devices/{id}/updates/install": {perm: authz.Operate, kind: "device", body: "approved=1"},
	"POST /devices/{id}/updates/eol":     {perm: authz.Remote, kind: "device", body: "key=eol:adobe-flash-player", ok: http.StatusNotFound},
	"GET /patches":                       {perm: authz.Read, kind: "list"},
	"POST /patches/{id}/approval":        {perm: authz.Operate, path: "/patches/999999/approval", body: "client={client}&decision=approve", ok: http.StatusNotFound},

	// Dashboard: policies
	"GET /policies":               {perm: authz.Read},
	"GET /policies/new":           {perm: authz.Admin},
	"GET /check-form":             {perm: authz.Operate, path: "/check-form?row=0&c0.type=ping"},
	"POST /policies":              {perm: authz.Admin, body: "name=Neu+{id}&rows=1&c0.name=cpu&c0.type=cpu&c0.class=24x7"},
	"GET /policies/{id}":          {perm: authz.Read, kind: "policy"},
	"POST /policies/{id}":         {perm: authz.Admin, kind: "policy", body: "name=Geändert&rows=1&c0.name=cpu&c0.type=cpu&c0.class=24x7"},
	"POST /policies/{id}/delete":  {body: "confirm=yes", perm: authz.Admin, kind: "policy"},
	"POST /policies/default":      {perm: authz.Admin},
	"GET /clients/{id}/policies":  {perm: authz.Read, kind: "client"},
	"POST /clients/{id}/policies": {perm: authz.Operate, kind: "client"},
	"GET /sites/{id}/policies":    {perm: authz.Read, kind: "site"},
	"POST /sites/{id}/policies":   {perm: authz.Operate, kind: "site"},
	"GET /devices/{id}/policies":  {perm: authz.Read, kind: "device"},
	"GET /devices/{id}/effective": {perm: authz.Read, kind: "device"},
	"POST /devices/{id}/policies": {perm: authz.Operate, kind: "device"},

	// Dashboard: protection (issue 8): internal/server/web/protection.go.
	"GET /protection": {perm: authz.Read, kind: "list"},

	// Dashboard: daily reports (issue 6): internal/server/web/reports.go.
	"GET /clients/{id}/report":           {perm: authz.Read, kind: "client"},
	"POST /clients/{id}/report/send":     {perm: authz.Operate, kind: "client", ok: http.StatusBadRequest},
	"POST /clients/{id}/report-settings": {perm: authz.Operate, kind: "client", body: "enabled=on&recipients=it@example.com&hour=06:30"},
	"GET /account/reports":               {perm: authz.Authenticated},
	"POST /account/reports":              {perm: authz.Authenticated, body: "digest=on"},
	"GET /account/time-zone":             {perm: authz.Authenticated},
	"POST /account/time-zone":            {perm: authz.Authenticated, body: "time_zone=Europe/Berlin"},

	// Dashboard: network devices (issue 5): internal/server/web/netdevices.go.
	// The {id} routes are sent an agent's ID, which is no network device.
	"GET /sites/{id}/network-devices/new": {perm: authz.Operate, kind: "site"},
	"POST /sites/{id}/network-devices":    {perm: authz.Operate, kind: "site", body: "name=Drucker&type=printer&address=127.0.0.1&probe_id=0&rows=0"},
	"GET /network-devices/{id}/edit":      {perm: authz.Operate, kind: "device", ok: http.StatusNotFound},
	"POST /network-devices/{id}":          {perm: authz.Operate, kind: "device", ok: http.StatusNotFound, body: "name=x&type=router&rows=0"},
	"POST /network-devices/{id}/retire":   {perm: authz.Operate, kind: "device", ok: http.StatusNotFound},

	// Dashboard: maintenance windows (issue 6): internal/server/web/maintenance.go.
	// The {id} routes are sent an ID that does not exist; scope:
	// web/maintenance_test.go.
	"GET /maintenance":              {perm: authz.Read, kind: "list"},
	"POST /maintenance":             {perm: authz.Operate, kind: "client", body: "target=client:{client}&title=Patchday&repeat=weekly&weekdays=2&from=22:00&to=02:00"},
	"GET /maintenance/{id}":         {perm: authz.Operate, path: "/maintenance/999999", ok: http.StatusNotFound},
	"POST /maintenance/{id}":        {perm: authz.Operate, path: "/maintenance/999999", body: "target=client:{client}&title=x&repeat=daily&from=01:00&to=02:00", ok: http.StatusNotFound},
	"POST /maintenance/{id}/delete": {body: "confirm=yes", perm: authz.Operate, path: "/maintenance/999999/delete", ok: http.StatusNotFound},

	// Dashboard: remote management (issue 15): internal/server/web/remote.go.
	// Without a gateway the lists show "offline" (200) and actions 409.
	"GET /devices/{id}/processes":             {perm: authz.Remote, kind: "device"},
	"GET /devices/{id}/processes/list":        {perm: authz.Remote, kind: "device"},
	"POST /devices/{id}/processes/{pid}/kill": {perm: authz.Remote, kind: "device", path: "/devices/{id}/processes/4242/kill", body: "start_time=1&tree=1", ok: http.StatusConflict},
	"GET /devices/{id}/services":              {perm: authz.Remote, kind: "device"},
	"POST /devices/{id}/services/{name}/{op}": {perm: authz.Remote, kind: "device", path: "/devices/{id}/services/cron/restart", ok: http.StatusConflict},
	"GET /devices/{id}/run":                   {perm: authz.Remote, kind: "device"},
	"POST /devices/{id}/run":                  {perm: authz.Remote, kind: "device", body: "shell=sh&command=uptime&timeout_seconds=5", ok: http.StatusConflict},
	"POST /settings/remote":                   {perm: authz.Admin, body: "require_2fa=on&recording_retention_days=30"},

	// Dashboard: scripts and jobs (issue 16): internal/server/web/scripts.go.
	// Pages and changes: web/scripts_test.go.
	"GET /packages":              {perm: authz.Read},
	"GET /packages/new":          {perm: authz.Admin},
	"POST /packages":             {perm: authz.Admin, body: "name=x&os=linux&kind=upload", ok: http.StatusBadRequest},
	"GET /packages/{id}":         {perm: authz.Read, path: "/packages/999999", ok: http.StatusNotFound},
	"POST /packages/{id}":        {perm: authz.Admin, path: "/packages/999999", body: "name=x", ok: http.StatusNotFound},
	"POST /packages/{id}/delete": {body: "confirm=yes", perm: authz.Admin, path: "/packages/999999/delete", ok: http.StatusNotFound},
	"PUT /packages/{id}/file":    {perm: authz.Admin, path: "/packages/999999/file?name=setup.msi", body: "MZ", ok: http.StatusNotFound},
	"GET /packages/{id}/deploy":  {perm: authz.Remote, path: "/packages/1/deploy"},
	"POST /packages/{id}/deploy": {perm: authz.Remote, kind: "client", path: "/packages/1/deploy", body: "target=client&client={client}&action=install&expires_hours=1", ok: http.StatusBadRequest},
	"GET /scripts":               {perm: authz.Read},
	"GET /scripts/export":        {perm: authz.Remote},
	"POST /scripts/import":       {perm: authz.Remote, ok: http.StatusBadRequest}, // not a multipart form
	"GET /scripts/new":           {perm: authz.Remote},
	"POST /scripts":              {perm: authz.Remote, body: "name=x&language=sh&body=echo", ok: http.StatusBadRequest},
	"GET /scripts/{id}":          {perm: authz.Read, path: "/scripts/999999", ok: http.StatusNotFound},
	"POST /scripts/{id}":         {perm: authz.Remote, path: "/scripts/999999", body: "name=x&language=sh&body=echo", ok: http.StatusNotFound},
	"POST /scripts/{id}/delete":  {body: "confirm=yes", perm: authz.Remote, path: "/scripts/999999/delete", ok: http.StatusNotFound},
	"GET /scripts/{id}/run":      {perm: authz.Remote, path: "/scripts/1/run"},
	"POST /scripts/{id}/run":     {perm: authz.Remote, kind: "client", path: "/scripts/1/run", body: "target=client&client={client}&expires_hours=1"},
	"GET /jobs":                  {perm: authz.Read},
	"GET /jobs/{id}":             {perm: authz.Read, path: "/jobs/999999", ok: http.StatusNotFound},
	"GET /jobs/{id}/progress":    {perm: authz.Read, path: "/jobs/999999/progress", ok: http.StatusNotFound},

	// Dashboard: alerts (issue 6): internal/server/web/alerts.go, alertsettings.go.
	"GET /alerts":                                  {perm: authz.Read, kind: "list"},
	"GET /partials/alert-count":                    {perm: authz.Read},
	"POST /alerts/{id}/ack":                        {perm: authz.Operate, kind: "outage", body: "comment=x"},
	"POST /alerts/{id}/clear":                      {perm: authz.Operate, kind: "outage", body: "until_pass=on"},
	"GET /settings/alerts":                         {perm: authz.Admin},
	"POST /settings/alerts":                        {perm: authz.Admin, body: "offline_after_server=120"},
	"POST /settings/alerts/test":                   {perm: authz.Admin, body: "test_to=tech@example.com", ok: http.StatusBadRequest},
	"POST /settings/alerts/recipients":             {perm: authz.Admin, body: "scope=default&channel=email&target=noc@example.com&lang=de&hours=always"},
	"POST /settings/alerts/recipients/{id}/delete": {body: "confirm=yes", perm: authz.Admin, path: "/settings/alerts/recipients/999999/delete", ok: http.StatusNotFound},
	"POST /settings/alerts/outbox/{id}/retry":      {perm: authz.Admin, path: "/settings/alerts/outbox/999999/retry", ok: http.StatusNotFound},
	"GET /settings/sso":                            {perm: authz.Admin},
	"POST /settings/sso":                           {perm: authz.Admin, body: "name=Entra&issuer=https://login.example/t/v2.0&client_id=c&client_secret=s&domains=example.com&default_role=readonly"},
	"POST /settings/sso/{id}/delete":               {body: "confirm=yes", perm: authz.Admin, path: "/settings/sso/999999/delete", ok: http.StatusNotFound},

	// Dashboard: the monthly report and its logo (issue 22): internal/server/web/monthly.go.
	"GET /clients/{id}/monthly-report.pdf": {perm: authz.Read, kind: "client"},
	"GET /settings/report-logo":            {perm: authz.Admin, ok: http.StatusNotFound},
	"POST /settings/report-logo":           {perm: authz.Admin, ok: http.StatusBadRequest}, // not multipart
	"POST /settings/report-logo/delete":    {body: "confirm=yes", perm: authz.Admin},

	// Dashboard: the tray app (issue 20): internal/server/web/branding.go
	// and support.go; the matrix has no icon and no support requests (404
	// once authorized); an upload without a file is refused beside the field.
	"POST /clients/{id}/branding":             {perm: authz.Operate, kind: "client", body: "show=on&product_name=M%C3%BCller+IT"},
	"GET /clients/{id}/branding/icon":         {perm: authz.Read, kind: "client", ok: http.StatusNotFound},
	"POST /clients/{id}/branding/icon":        {perm: authz.Operate, kind: "client", ok: http.StatusBadRequest},
	"POST /clients/{id}/branding/icon/delete": {body: "confirm=yes", perm: authz.Operate, kind: "client"},
	"GET /support":                            {perm: authz.Read, kind: "list"},
	"GET /support/{id}":                       {perm: authz.Read, path: "/support/999999", ok: http.StatusNotFound},
	"POST /support/{id}":                      {perm: authz.Operate, path: "/support/999999", body: "state=done", ok: http.StatusNotFound},
	"GET /support/{id}/screenshot":            {perm: authz.Read, path: "/support/999999/screenshot", ok: http.StatusNotFound},
	"GET /partials/support-count":             {perm: authz.Read},

	// Dashboard: billing, contracts and time tracking (issue 22):
	// internal/server/web/billing.go and billing_client.go; the matrix has
	// no billing runs and no time entries (404 once authorized).
	"GET /billing":                {perm: authz.Admin, path: "/billing?from=2020-01&to=2020-01"},
	"POST /billing/finalize":      {perm: authz.Admin, body: "from=2020-01&to=2020-01&confirm=yes"},
	"GET /billing/runs/{file}":    {perm: authz.Admin, path: "/billing/runs/999999.csv", ok: http.StatusNotFound},
	"POST /clients/{id}/contract": {perm: authz.Admin, kind: "client", body: "plan=All-in-one&price=129%2C00&gross=gross&activation=39.00&hourly=95&vat=19&period=monthly&start=2026-01-01&reactivate=6"},
	"POST /contracts/{id}/delete": {perm: authz.Admin, path: "/contracts/999999/delete", body: "client={client}&confirm=yes", ok: http.StatusNotFound},
	"GET /time/new":               {perm: authz.Operate, kind: "client", path: "/time/new?client={id}"},
	"POST /time":                  {perm: authz.Operate, kind: "client", body: "client={id}&minutes=1%3A30&note=Drucker&billable=on"},
	"GET /time/{id}/edit":         {perm: authz.Operate, path: "/time/999999/edit", ok: http.StatusNotFound},
	"POST /time/{id}":             {perm: authz.Operate, path: "/time/999999", body: "minutes=5", ok: http.StatusNotFound},
	"POST /time/{id}/stop":        {perm: authz.Operate, path: "/time/999999/stop", ok: http.StatusNotFound},
	"POST /time/{id}/delete":      {body: "confirm=yes", perm: authz.Operate, path: "/time/999999/delete", ok: http.StatusNotFound},

	// Dashboard: terminal and recordings (issue 15): internal/server/web/terminal.go.
	"GET /devices/{id}/terminal":    {perm: authz.Remote, kind: "device"},
	"GET /devices/{id}/terminal/ws": {perm: authz.Remote, kind: "device", ok: http.StatusConflict},
	"GET /recordings/{id}":          {perm: authz.Admin, path: "/recordings/999999", ok: http.StatusNotFound},
	"GET /recordings/{id}/cast":     {perm: authz.Admin, path: "/recordings/999999/cast", ok: http.StatusNotFound},
}

// mounts are the raw http.ServeMux registrations that only delegate to a
// sub-handler with its own routes (server.go, the gateway's fallback).
var mounts = []string{"/api/agent/", "/api/v1/", "/internal/", "/", blobs.Path}

func allRoutes() []auth.Route { return append(api.Routes(), web.Routes()...) }

// TestRoutesAreInTable enumerates the routers' routes: each must be in the
// authorization table with the same permission, or Public and on the
// allowlist; each table entry must still be registered.
func TestRoutesAreInTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range allRoutes() {
		seen[r.Pattern] = true
		if r.Perm == authz.Public {
			if !slices.Contains(auth.PublicAllowlist, r.Pattern) {
				t.Errorf("route %q is public but not on the allowlist", r.Pattern)
			}
			continue
		}
		spec, ok := authzTable[r.Pattern]
		if !ok {
			t.Errorf("route %q (%s) is not in the authorization table (internal/server/authz_test.go)", r.Pattern, r.Perm)
			continue
		}
		if spec.perm != r.Perm {
			t.Errorf("route %q requires %s, the table says %s", r.Pattern, r.Perm, spec.perm)
		}
	}
	for p := range authzTable {
		if !seen[p] {
			t.Errorf("table entry %q is not registered", p)
		}
	}
}

// TestNoRouteBypassesRouter scans the server's sources for mux
// registrations that do not go through an auth.Router (two arguments
// instead of pattern, permission, handler): those must be mounts or public
// allowlisted routes.
func TestNoRouteBypassesRouter(t *testing.T) {
	consts := map[string]string{"api.AgentInstallerPattern": api.AgentInstallerPattern, "protocol.PathEnroll": protocol.PathEnroll, "protocol.PathWS": protocol.PathWS, "blobs.Path": blobs.Path}
	var eval func(e ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		case *ast.BinaryExpr:
			a, ok1 := eval(e.X)
			b, ok2 := eval(e.Y)
			return a + b, ok1 && ok2 && e.Op == token.ADD
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok {
				v, ok := consts[x.Name+"."+e.Sel.Name]
				return v, ok
			}
		}
		return "", false
	}
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && path != "." && strings.HasSuffix(d.Name(), "test") {
			return filepath.SkipDir // test helpers (authtest, openapitest), never in the server
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			path == filepath.Join("auth", "authz.go") { // the Router itself
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") || len(call.Args) == 0 {
				return true
			}
			n++
			if len(call.Args) == 3 {
				return true // auth.Router: checked by TestRoutesAreInTable
			}
			pattern, ok := eval(call.Args[0])
			if !ok {
				t.Errorf("%s: bare mux route pattern %s is not a constant the test can read", path, fmtNode(call.Args[0]))
				return true
			}
			if !slices.Contains(mounts, pattern) && !slices.Contains(auth.PublicAllowlist, pattern) && !slices.Contains(auth.NodeRoutes, pattern) &&
				!slices.Contains(auth.TicketRoutes, pattern) {
				t.Errorf("%s: %q is registered on a bare mux, bypassing authorization", path, pattern)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < len(authzTable) {
		t.Errorf("found only %d registrations; is the scan looking at the right files?", n)
	}
}

func fmtNode(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	default:
		return "expression"
	}
}

// matrix is the authorization matrix's world: two clients, the caller's
// own (A) and a foreign one (B), each with a site and a device; one user
// per role, the technician and read-only user limited to A.
type matrix struct {
	st       *store.DB
	handler  http.Handler // API and dashboard
	clients  [2]core.Client
	sites    [2]core.Site
	devices  [2]core.Device
	users    map[string]core.User
	tokens   map[string]string // role → API token secret
	tokenIDs map[string]int64
	policy   int64    // a policy created through the API, if it has policies
	outages  [2]int64 // an open outage of each device's failing cpu check
	etokens  [2]int64 // each site's enrollment token
}

// newMatrix returns a fresh matrix: a copy of one seeded store, with its
// own handlers. Seeding anew in each of the hundreds of cases that change
// something cost more than all their requests.
func newMatrix(t *testing.T) *matrix {
	t.Helper()
	st := matrixStore(t)
	m := matrixSeed // the IDs and secrets, which the copy shares
	m.st = st
	m.handler = matrixHandler(t, st)
	return &m
}

// matrixSeed is what matrixStore's seed wrote, filled once per test
// binary.
var matrixSeed matrix

// matrixStore opens a copy of the matrix's store: two clients with a site,
// a device with an open outage each, a user and API token per role and a
// policy.
var matrixStore = storetest.SeededSQLite(func(t testing.TB, st *store.DB) {
	ctx := context.Background()
	m := &matrix{st: st, users: map[string]core.User{}, tokens: map[string]string{}, tokenIDs: map[string]int64{}}
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i, name := range []string{"Eigene GmbH", "Fremde AG"} {
		c, s, err := st.EnsureClientSite(ctx, name, "Zentrale")
		if err != nil {
			t.Fatal(err)
		}
		secret := auth.NewSecret("")
		if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: c.ID, SiteID: s.ID}); err != nil {
			t.Fatal(err)
		}
		d := core.Device{Hostname: []string{"own-pc", "foreign-pc"}[i], OS: "linux", MachineID: "m" + name, PublicKey: make([]byte, 32)}
		if err := st.Enroll(ctx, auth.HashSecret(secret), &d, now); err != nil {
			t.Fatal(err)
		}
		m.clients[i], m.sites[i], m.devices[i] = c, s, d
		et := core.EnrollmentToken{SecretHash: auth.HashSecret(auth.NewSecret("")), ClientID: c.ID, SiteID: s.ID}
		if err := st.CreateEnrollmentToken(ctx, &et); err != nil {
			t.Fatal(err)
		}
		m.etokens[i] = et.ID
		if err := st.SaveResults(ctx, d.ID, []core.Result{{ID: "cpu-" + name, Check: "cpu", Status: core.StatusFailure, At: now}}); err != nil {
			t.Fatal(err)
		}
		as, err := st.AlertStates(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{{Ref: "o" + name, DeviceID: d.ID,
			CheckID: as[0].CheckID, Kind: core.OutageCheck, CheckName: "cpu", Severity: core.AlertFailure, OpenedAt: now}}}); err != nil {
			t.Fatal(err)
		}
		os, err := st.ListOutages(ctx, core.OutageFilter{DeviceID: d.ID})
		if err != nil {
			t.Fatal(err)
		}
		m.outages[i] = os[0].ID
		inv := core.Inventory{Software: []core.Program{{Name: "7-Zip 23.01 (x64)", Version: "23.01", Source: core.SourceRegistry64}}}
		if err := st.SaveInventory(ctx, core.StoredInventory{DeviceID: d.ID, Digest: "matrix", Inventory: inv}, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	// Creating enrollment tokens needs the URL the server stores at start.
	if err := st.SetSetting(ctx, service.SettingServerURL, "https://127.0.0.1:8443"); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{core.RoleAdmin, core.RoleTechnician, core.RoleReadOnly} {
		u := core.User{Email: role + "@example.com", PasswordHash: "x", Role: role}
		if role != core.RoleAdmin {
			u.Scope = core.Only(m.clients[0].ID)
		}
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		m.users[role] = u
		secret := auth.NewSecret(auth.APITokenPrefix)
		tok := core.APIToken{UserID: u.ID, Name: role, Hash: auth.HashSecret(secret)}
		if err := st.CreateAPIToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		m.tokens[role], m.tokenIDs[role] = secret, tok.ID
	}
	m.handler = matrixHandler(t, st)
	if slices.ContainsFunc(api.Routes(), func(r auth.Route) bool { return r.Pattern == "POST /api/v1/policies" }) {
		status, body := m.do(t, core.RoleAdmin, "POST", "/api/v1/policies", `{"name":"Matrix","checks":[{"name":"cpu","type":"cpu"}]}`)
		var p struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &p); status != http.StatusCreated || err != nil {
			t.Fatalf("creating a policy: %d %s", status, body)
		}
		m.policy = p.ID
	}
	matrixSeed = *m
})

// matrixHandler serves the API and the dashboard over st.
func matrixHandler(t testing.TB, st *store.DB) http.Handler {
	// A secret key, as every server has: script runs are authenticated
	// with it.
	box, err := seal.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Secrets: box})
	webH, err := web.New(web.Deps{Store: st, Service: svc, Installers: noInstallers{}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	// Until agent files are published through the service (issue 21's
	// rollout part), the matrix has none.
	mux.Handle("/api/v1/", api.NewWithInstallers(svc, noInstallers{}, nil))
	mux.Handle("/", webH)
	return mux
}

// noInstallers is an installer source with nothing published.
type noInstallers struct{}

func (noInstallers) ListAgentFiles(context.Context, core.User) ([]core.AgentFile, error) {
	return nil, nil
}

func (noInstallers) OpenInstaller(_ context.Context, kind, arch string) (core.AgentFile, io.ReadSeekCloser, error) {
	if err := service.CheckInstallerKind(kind, arch); err != nil {
		return core.AgentFile{}, nil, err
	}
	return core.AgentFile{}, nil, &service.NoInstallerError{Kind: kind, Arch: arch}
}

// do sends one request as role: with its API token for /api/v1, else with a
// fresh dashboard session (and its CSRF token on POSTs).
func (m *matrix) do(t testing.TB, role, method, path, body string) (int, string) {
	t.Helper()
	var r *http.Request
	if strings.HasPrefix(path, "/api/v1/") {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+m.tokens[role])
		r.Header.Set("Content-Type", "application/json")
	} else {
		rec := httptest.NewRecorder()
		sess, err := (&auth.Sessions{Users: m.st}).Create(context.Background(), rec, m.users[role].ID)
		if err != nil {
			t.Fatal(err)
		}
		if method == http.MethodPost {
			v, _ := url.ParseQuery(body)
			v.Set(auth.CSRFField, sess.CSRF)
			body = v.Encode()
		}
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if method != http.MethodGet && method != http.MethodPost {
			// Scripts send the token as a header (an upload's PUT).
			r.Header.Set("Content-Type", "application/octet-stream")
			r.Header.Set(auth.CSRFHeader, sess.CSRF)
		}
		for _, c := range rec.Result().Cookies() {
			r.AddCookie(c)
		}
	}
	r.RemoteAddr = "192.0.2.10:40000"
	w := httptest.NewRecorder()
	m.handler.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

// TestAuthorizationMatrix sends every route as every role, once on the
// caller's own client's objects and once on a foreign client's, and checks
// allowed vs denied: a role without the route's permission gets 403, an
// object outside the caller's scope 404 (never revealing it exists), and
// lists never show foreign objects.
func TestAuthorizationMatrix(t *testing.T) {
	shared := newMatrix(t)
	for pattern, spec := range authzTable {
		method, _, _ := strings.Cut(pattern, " ")
		if !strings.Contains(pattern, " ") {
			method = http.MethodGet
		}
		for _, role := range []string{core.RoleAdmin, core.RoleTechnician, core.RoleReadOnly} {
			for _, foreign := range []bool{false, true} {
				name := pattern + "/" + role + map[bool]string{false: "/own", true: "/foreign"}[foreign]
				t.Run(name, func(t *testing.T) {
					m := shared
					if method != http.MethodGet {
						m = newMatrix(t) // changes must not leak into other cases
					}
					idx := 0
					if foreign {
						idx = 1
					}
					path := spec.path
					if path == "" {
						path = auth.PatternPath(pattern)
					}
					var id int64
					switch spec.kind {
					case "client":
						id = m.clients[idx].ID
					case "site":
						id = m.sites[idx].ID
					case "device":
						id = m.devices[idx].ID
					case "policy":
						id = m.policy
					case "outage":
						id = m.outages[idx]
					case "enrollment-token":
						id = m.etokens[idx]
					case "user":
						id = m.users[core.RoleTechnician].ID
					case "token":
						id = m.tokenIDs[role]
						if foreign {
							id = m.tokenIDs[map[bool]string{true: core.RoleTechnician, false: core.RoleAdmin}[role == core.RoleAdmin]]
						}
					}
					idS := strconv.FormatInt(id, 10)
					client := strconv.FormatInt(m.clients[idx].ID, 10)
					path = strings.ReplaceAll(path, "{id}", idS)
					body := strings.NewReplacer("{id}", idS, "{client}", client).Replace(spec.body)

					u := m.users[role]
					roleOK := authz.Allows(u, spec.perm)
					scoped := map[string]bool{"client": true, "site": true, "device": true, "outage": true, "enrollment-token": true}[spec.kind]
					scopeOK := !foreign || role == core.RoleAdmin
					if spec.kind == "token" {
						scopeOK = !foreign || role == core.RoleAdmin
					}
					status, resp := m.do(t, role, method, path, body)
					switch {
					case !roleOK:
						if status != http.StatusForbidden {
							t.Errorf("%s %s as %s: status %d, want 403", method, path, role, status)
						}
					case (scoped || spec.kind == "token") && !scopeOK:
						if status != http.StatusNotFound {
							t.Errorf("%s %s as %s on a foreign object: status %d, want 404", method, path, role, status)
						}
					default:
						if status >= 400 && status != spec.ok {
							t.Errorf("%s %s as %s: status %d, want success; body %.300s", method, path, role, status, resp)
						}
						if spec.kind == "list" {
							// Neither the foreign client's name nor its device
							// may show; admins see both.
							client, host := m.clients[1].Name, m.devices[1].Hostname
							if strings.Contains(resp, client) != (role == core.RoleAdmin) {
								t.Errorf("%s as %s: shows foreign client %q = %v", path, role, client, !(role == core.RoleAdmin))
							}
							if strings.Contains(pattern, "devices") || path == "/" {
								if strings.Contains(resp, host) != (role == core.RoleAdmin) {
									t.Errorf("%s as %s: shows foreign device %q = %v", path, role, host, !(role == core.RoleAdmin))
								}
							}
						}
					}
				})
			}
		}
	}
}

// TestUnauthenticated checks that every non-public route refuses callers
// without credentials: 401 from the API, a redirect to /login from the
// dashboard.
func TestUnauthenticated(t *testing.T) {
	m := newMatrix(t)
	for pattern, spec := range authzTable {
		method, _, _ := strings.Cut(pattern, " ")
		if !strings.Contains(pattern, " ") {
			method = http.MethodGet
		}
		path := spec.path
		if path == "" {
			path = auth.PatternPath(pattern)
		}
		path = strings.ReplaceAll(path, "{id}", strconv.FormatInt(m.devices[0].ID, 10))
		r := httptest.NewRequest(method, path, strings.NewReader(spec.body))
		w := httptest.NewRecorder()
		m.handler.ServeHTTP(w, r)
		want := http.StatusSeeOther
		if strings.HasPrefix(path, "/api/v1/") {
			want = http.StatusUnauthorized
		}
		if w.Code != want {
			t.Errorf("%s %s without credentials: %d, want %d", method, path, w.Code, want)
		}
	}
}
