package web

import (
	"net/http"
	"net/url"
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

// deleteView deletes one of the user's views and returns to the list.
func (s *server) deleteView(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err == nil {
		err = s.svc.DeleteView(r.Context(), rc.user, id)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}
