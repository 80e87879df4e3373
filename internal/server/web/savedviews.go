package web

import (
	"net/http"
	"net/url"

	"github.com/wacht-rmm/wacht/internal/core"
)

// saveView saves the list's current filters under a name and opens the
// view. The query is parsed and written back first, so only parameters the
// list knows are kept.
func (s *server) saveView(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	vs, err := url.ParseQuery(r.PostFormValue("filters"))
	if err != nil {
		vs = url.Values{}
	}
	q := parseListQuery(vs)
	if _, err := s.svc.SaveView(r.Context(), rc.user, r.PostFormValue("name"), q.Filters()); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, q.URL(), http.StatusSeeOther)
}

// deleteView deletes one of the user's views and returns to the list,
// which names the deleted view (?view_deleted=).
func (s *server) deleteView(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	id, err := pathID(r)
	var name string
	if err == nil {
		name, err = s.viewName(r, rc, id)
	}
	if err == nil {
		err = s.svc.DeleteView(r.Context(), rc.user, id)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, withParam(localPath(r.PostFormValue("next")), viewDeletedParam, name), http.StatusSeeOther)
}

// viewDeletedParam names the view just deleted, for the list's notice.
const viewDeletedParam = "view_deleted"

// viewName is the name of the user's view id; another user's is not found.
func (s *server) viewName(r *http.Request, rc *reqCtx, id int64) (string, error) {
	vs, err := s.svc.SavedViews(r.Context(), rc.user)
	if err != nil {
		return "", err
	}
	for _, v := range vs {
		if v.ID == id {
			return v.Name, nil
		}
	}
	return "", core.ErrNotFound
}
