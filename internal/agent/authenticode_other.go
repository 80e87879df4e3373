//go:build !windows

package agent

// authenticodeSupported: Authenticode is Windows's; preparePackage answers
// unsupported before verifyAuthenticode could be reached.
const authenticodeSupported = false

func verifyAuthenticode(string) (uint32, string) {
	return trustProviderUnknown, "Authenticode exists on Windows only"
}
