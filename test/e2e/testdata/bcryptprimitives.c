/* bcryptprimitives.dll for Wine 8, which lacks it: Go >= 1.22 calls
 * ProcessPrng at start ("fatal error: bcryptprimitives.dll not found").
 * Built with x86_64-w64-mingw32-gcc by the Wine lane (wine_test.go) and
 * never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len); /* RtlGenRandom */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE p, SIZE_T n)
{
	while (n > 0) {
		ULONG k = n > 0x40000000 ? 0x40000000 : (ULONG)n;
		if (!SystemFunction036(p, k))
			return FALSE;
		p += k;
		n -= k;
	}
	return TRUE;
}
