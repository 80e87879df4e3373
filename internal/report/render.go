package report

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates
var templates embed.FS

var (
	htmlT = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/*.html.tmpl"))
	textT = texttemplate.Must(texttemplate.ParseFS(templates, "templates/*.txt.tmpl"))
)

// Mail is a rendered report: subject, plain text and an HTML document.
type Mail struct {
	Subject string
	Text    string
	HTML    string
}

type reportData struct {
	L L
	R Report
}

// Render writes r as a mail in its language.
func Render(r Report) (Mail, error) {
	data := reportData{L: newL(r.Lang, r.Location()), R: r}
	m := Mail{Subject: data.L.T("subject", r.Client, data.L.Date(r.Until))}
	var err error
	if m.Text, err = execText("report-text", data); err != nil {
		return m, err
	}
	m.HTML, err = execHTML("report-mail", data)
	return m, err
}

// BodyHTML is r's HTML without the mail's document around it, for the
// dashboard's preview.
func BodyHTML(r Report) (htmltemplate.HTML, error) {
	s, err := execHTML("report-body", reportData{L: newL(r.Lang, r.Location()), R: r})
	return htmltemplate.HTML(s), err // written by html/template, so escaped
}

// Digest is a technician's overview across the customers they may see.
type Digest struct {
	Lang     string         `json:"lang"`
	Since    time.Time      `json:"since"`
	Until    time.Time      `json:"until"`
	TimeZone string         `json:"time_zone"`
	Link     string         `json:"link,omitempty"`
	Clients  []DigestClient `json:"clients"`
	loc      *time.Location
}

// DigestClient is one customer's block in a digest.
type DigestClient struct {
	ClientID   int64    `json:"client_id"`
	Client     string   `json:"client"`
	Link       string   `json:"link,omitempty"`
	Summary    Summary  `json:"summary"`
	FailingNow []string `json:"failing_now"`
	OfflineNow []string `json:"offline_now"`
	EventCount int      `json:"event_count"`
	Outages    int      `json:"outages"`
	Quiet      bool     `json:"quiet"`
	// Patches is the client's patch compliance, nil without devices that
	// reported their updates.
	Patches *PatchCompliance `json:"patches,omitempty"`
}

// NewDigest summarizes reports (built in the digest's language) by client
// name.
func NewDigest(lang, serverURL string, reports []Report) Digest {
	d := Digest{Lang: lang, Link: link(serverURL, "/"), Clients: []DigestClient{}}
	for _, r := range reports {
		d.Since, d.Until, d.TimeZone, d.loc = r.Since, r.Until, r.TimeZone, r.loc
		c := DigestClient{ClientID: r.ClientID, Client: r.Client, Link: r.Link, Summary: r.Summary,
			FailingNow: r.FailingNow, OfflineNow: []string{}, EventCount: r.EventCount, Outages: len(r.Outages), Quiet: r.Quiet, Patches: r.Patches}
		for _, o := range r.Offline {
			if o.Now {
				c.OfflineNow = append(c.OfflineNow, o.Hostname)
			}
		}
		d.Clients = append(d.Clients, c)
	}
	slices.SortFunc(d.Clients, func(a, b DigestClient) int { return strings.Compare(a.Client, b.Client) })
	return d
}

type digestData struct {
	L L
	D Digest
}

// RenderDigest writes d as a mail in its language.
func RenderDigest(d Digest) (Mail, error) {
	data := digestData{L: newL(d.Lang, d.loc), D: d}
	m := Mail{Subject: data.L.T("digestSubj", data.L.Date(d.Until))}
	var err error
	if m.Text, err = execText("digest-text", data); err != nil {
		return m, err
	}
	m.HTML, err = execHTML("digest-mail", data)
	return m, err
}

func execText(name string, data any) (string, error) {
	var b bytes.Buffer
	err := textT.ExecuteTemplate(&b, name, data)
	return b.String(), err
}

func execHTML(name string, data any) (string, error) {
	var b bytes.Buffer
	err := htmlT.ExecuteTemplate(&b, name, data)
	return b.String(), err
}
