// Package releasetest builds stand-ins for agent executables in tests:
// just enough of a header for release.Platform to name their platform.
package releasetest

import (
	"debug/elf"
	"encoding/binary"
)

// ELF returns an ELF64 executable header for machine m (elf.EM_X86_64,
// elf.EM_AARCH64…) followed by pad, which makes builds differ.
func ELF(m elf.Machine, pad string) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(b[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(b[18:], uint16(m))
	binary.LittleEndian.PutUint32(b[20:], 1)
	binary.LittleEndian.PutUint16(b[52:], 64) // header size
	binary.LittleEndian.PutUint16(b[54:], 56) // program header entry size
	binary.LittleEndian.PutUint16(b[58:], 64) // section header entry size
	return append(b, pad...)
}
