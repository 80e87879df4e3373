package api

import (
	"errors"
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/transfer"
	"github.com/wacht-rmm/wacht/internal/service"
)

// packageRoutes are the software package definitions' routes. Reading
// needs Read; changing needs Admin (the service also refuses
// administrators limited to some clients): a package's command lines run
// as SYSTEM or root on every device it reaches. Deploying a package needs
// Remote, as running a script does, and the devices in scope.
func (h *handler) packageRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/packages", authz.Read, h.listPackages)
	rt.HandleFunc("POST /api/v1/packages", authz.Admin, h.createPackage)
	rt.HandleFunc("GET /api/v1/packages/{id}", authz.Read, h.getPackage)
	rt.HandleFunc("PUT /api/v1/packages/{id}", authz.Admin, h.updatePackage)
	rt.HandleFunc("DELETE /api/v1/packages/{id}", authz.Admin, h.deletePackage)
	rt.HandleFunc("PUT /api/v1/packages/{id}/file", authz.Admin, h.uploadPackageFile)
	rt.HandleFunc("POST /api/v1/packages/{id}/duplicate", authz.Admin, h.duplicatePackage)
	rt.HandleFunc("GET /api/v1/devices/{id}/software-state", authz.Read, h.deviceSoftware)
	rt.HandleFunc("GET /api/v1/clients/{id}/software-state", authz.Read, h.clientSoftware)
	rt.HandleFunc("POST /api/v1/packages/{id}/deploy", authz.Remote, h.deployPackage)
}

// packageError answers a refused change of a catalog entry with its
// reason; everything else as writeError does.
func (h *handler) packageError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, service.ErrBuiltinPackage) {
		writeJSON(w, http.StatusForbidden, localizedError{Error: "built-in catalog packages are read-only", Code: "builtin", Message: core.Text{
			EN: "built-in catalog packages are read-only; duplicate one (POST /api/v1/packages/{id}/duplicate) to change it",
			DE: "mitgelieferte Katalogpakete sind schreibgeschützt; duplizieren Sie eines (POST /api/v1/packages/{id}/duplicate), um es zu ändern"}})
		return
	}
	var inUse *service.PackageInUseError
	if errors.As(err, &inUse) {
		writeJSON(w, http.StatusConflict, localizedError{Error: inUse.Error(), Code: "in_use", Message: inUse.Localized()})
		return
	}
	h.writeError(w, r, err)
}

func (h *handler) listPackages(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ListPackages(r.Context(), u) })
}

func (h *handler) getPackage(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.GetPackage(r.Context(), u, id) })
}

func (h *handler) savePackage(r *http.Request, u core.User, id int64) (any, error) {
	var in service.PackageInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	return h.svc.SavePackage(r.Context(), u, id, in)
}

func (h *handler) createPackage(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusCreated, func(u core.User) (any, error) { return h.savePackage(r, u, 0) })
}

func (h *handler) updatePackage(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.packageError).withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.savePackage(r, u, id) })
}

func (h *handler) deletePackage(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.packageError).withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.DeletePackage(r.Context(), u, id, r.URL.Query().Get("force") == "1")
	})
}

// deployPackage queues the package's install or uninstall as a job (202,
// like running a script); refused devices and packages answer 400.
func (h *handler) deployPackage(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.packageError).withID(w, r, http.StatusAccepted, func(u core.User, id int64) (any, error) {
		var in service.DeployRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		return h.svc.DeployPackage(r.Context(), u, id, in)
	})
}

// uploadPackageFile streams the body (the installer, ?name= its file
// name) into the blob store; the server's upload limit bounds it, not the
// API's request limit (server.streamed).
func (h *handler) uploadPackageFile(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.packageError).withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.UploadPackageFile(r.Context(), u, id, r.URL.Query().Get("name"), transfer.Body(w, r))
	})
}

// duplicatePackage copies a package (a catalog entry or an own one) into
// a new, editable one; the optional body names it and sets parameters.
func (h *handler) duplicatePackage(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusCreated, func(u core.User, id int64) (any, error) {
		var in service.DuplicateInput
		if r.ContentLength != 0 {
			if err := decodeBody(r, &in); err != nil {
				return nil, err
			}
		}
		return h.svc.DuplicatePackage(r.Context(), u, id, in)
	})
}

// deviceSoftware answers a device's software state: per package what its
// policy wants, what its agent reports and the last deployment.
func (h *handler) deviceSoftware(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.DeviceSoftwareState(r.Context(), u, id)
	})
}

// clientSoftware answers the software state of a client's devices.
func (h *handler) clientSoftware(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.ClientSoftwareState(r.Context(), u, id)
	})
}
