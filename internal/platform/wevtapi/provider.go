package wevtapi

import "regexp"

var providerRe = regexp.MustCompile(`<Provider\s+Name=['"]([^'"]+)['"]`)

// providerName pulls the provider name out of rendered event XML without a
// full parse.
func providerName(eventXML string) string {
	if m := providerRe.FindStringSubmatch(eventXML); m != nil {
		return m[1]
	}
	return ""
}
