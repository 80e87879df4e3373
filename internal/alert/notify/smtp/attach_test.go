package smtp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
)

// part is one leaf of a received MIME message.
type part struct {
	mediaType, disposition, filename string
	data                             []byte
}

// leaves walks a received message's MIME tree and returns its top-level
// media type and the decoded leaves.
func leaves(t *testing.T, raw []byte) (string, []part) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	top, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	var out []part
	var walk func(ct, cte, cd string, body io.Reader)
	walk = func(ct, cte, cd string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("Content-Type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			r := multipart.NewReader(body, params["boundary"])
			for {
				p, err := r.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p)
			}
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		if strings.EqualFold(cte, "base64") {
			if b, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), "")); err != nil {
				t.Fatalf("base64 of %s: %v", mt, err)
			}
		}
		p := part{mediaType: mt, data: b}
		if cd != "" {
			d, dp, err := mime.ParseMediaType(cd)
			if err != nil {
				t.Fatalf("Content-Disposition %q: %v", cd, err)
			}
			p.disposition, p.filename = d, dp["filename"]
		}
		out = append(out, p)
	}
	walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Header.Get("Content-Disposition"), msg.Body)
	return top, out
}

// TestSendAttachment: a message with an attachment goes out as
// multipart/mixed holding the text/HTML alternative and the file with its
// name, content type and bytes intact; one without stays as it was.
func TestSendAttachment(t *testing.T) {
	srv := alerttest.Start(t, alerttest.Options{Mode: smtp.TLSNone})
	c := smtp.Config{Host: srv.Host(), Port: srv.Port(), TLS: smtp.TLSNone, From: "wacht@provider.example", Timeout: 5 * time.Second}
	pdf := make([]byte, 200<<10) // the size of a monthly report with a logo
	copy(pdf, "%PDF-1.7\n")
	if _, err := rand.Read(pdf[9:]); err != nil {
		t.Fatal(err)
	}
	m := notify.Message{ID: notify.StableID("monthly:7:2026-11"), Lang: "de", Subject: "[Wacht] Monatsbericht Müller GmbH – November 2026",
		Text: "Im Anhang der Monatsbericht für November 2026.\n", HTML: "<!DOCTYPE html><html><body><p>Im Anhang der Monatsbericht.</p></body></html>",
		Event:       notify.Event{Kind: notify.KindReport},
		Attachments: []notify.Attachment{{Name: "Monatsbericht-2026-11.pdf", ContentType: "application/pdf", Data: pdf}}}
	if err := smtp.Send(context.Background(), c, "it@mueller.example", m); err != nil {
		t.Fatal(err)
	}
	ms := srv.WaitFor(t, 1, 5*time.Second)
	top, ps := leaves(t, ms[0].Data)
	if top != "multipart/mixed" {
		t.Fatalf("top-level type %q, want multipart/mixed", top)
	}
	var got *part
	var text, html bool
	for i, p := range ps {
		switch p.mediaType {
		case "application/pdf":
			got = &ps[i]
		case "text/plain":
			text = p.disposition != "attachment"
		case "text/html":
			html = p.disposition != "attachment"
		}
	}
	if !text || !html {
		t.Errorf("text %v, HTML %v: the alternative is missing (%d parts)", text, html, len(ps))
	}
	if got == nil {
		t.Fatalf("no application/pdf part among %d", len(ps))
	}
	if got.disposition != "attachment" || got.filename != "Monatsbericht-2026-11.pdf" {
		t.Errorf("disposition %q, file name %q", got.disposition, got.filename)
	}
	if !bytes.Equal(got.data, pdf) {
		t.Errorf("attachment of %d bytes differs from the %d sent", len(got.data), len(pdf))
	}

	// Without attachments: as before (multipart/alternative only).
	m.Attachments = nil
	m.ID = notify.StableID("monthly:7:2026-11:b")
	if err := smtp.Send(context.Background(), c, "it@mueller.example", m); err != nil {
		t.Fatal(err)
	}
	ms = srv.WaitFor(t, 2, 5*time.Second)
	if top, ps := leaves(t, ms[1].Data); top != "multipart/alternative" || len(ps) != 2 {
		t.Errorf("without attachments: %q with %d parts", top, len(ps))
	}
}

// TestSendAttachmentName: a name with a path or control characters is cut
// to a plain file name; no name gives a generic one.
func TestSendAttachmentName(t *testing.T) {
	srv := alerttest.Start(t, alerttest.Options{Mode: smtp.TLSNone})
	c := smtp.Config{Host: srv.Host(), Port: srv.Port(), TLS: smtp.TLSNone, From: "wacht@provider.example", Timeout: 5 * time.Second}
	m := msg()
	m.Attachments = []notify.Attachment{
		{Name: "../../etc/Monthly-report\r\n-2026-11.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.7")},
		{Name: "", Data: []byte{0, 1, 2}},
	}
	if err := smtp.Send(context.Background(), c, "it@mueller.example", m); err != nil {
		t.Fatal(err)
	}
	_, ps := leaves(t, srv.WaitFor(t, 1, 5*time.Second)[0].Data)
	var names []string
	for _, p := range ps {
		if p.disposition == "attachment" {
			names = append(names, p.mediaType+" "+p.filename)
		}
	}
	want := []string{"application/pdf Monthly-report-2026-11.pdf", "application/octet-stream attachment-2"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("attachments %q, want %q", names, want)
	}
}
