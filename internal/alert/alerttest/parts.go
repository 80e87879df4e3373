package alerttest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
)

// Parts returns the decoded parts of a multipart message by media type
// ("text/plain", "text/html"), with LF line ends; a single-part message
// gives its one body.
func (m Mail) Parts() map[string]string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return nil
	}
	out := map[string]string{}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		out[mt] = m.Body()
		return out
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err != nil {
			return out
		}
		b, _ := io.ReadAll(p)
		switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			b = []byte(decodeQP(b))
		case "base64":
			if d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), "")); err == nil {
				b = d
			}
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[pt] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
}
