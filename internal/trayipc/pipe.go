package trayipc

import "fmt"

// Access rights on the Windows pipe, spelled out so the grant can be
// checked on any OS. On a pipe FILE_APPEND_DATA is
// FILE_CREATE_PIPE_INSTANCE: whoever holds it can add a server end under
// the agent's name and answer another user's tray, so users never get it
// (GENERIC_WRITE would include it).
const (
	fileReadData       = 0x1
	fileWriteData      = 0x2
	fileAppendData     = 0x4 // FILE_CREATE_PIPE_INSTANCE
	fileReadAttributes = 0x80
	readControl        = 0x20000
	synchronize        = 0x100000

	// userAccess is what interactive users get and what a tray asks for:
	// read and write data, read the pipe's state and its owner.
	userAccess = fileReadData | fileWriteData | fileReadAttributes | readControl | synchronize
)

// pipeSDDL protects the pipe: network logons denied, SYSTEM (the agent)
// full access, Interactive Users (console and Remote Desktop sessions)
// userAccess, nobody else; P: no inherited entries.
var pipeSDDL = fmt.Sprintf("D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;%#x;;;IU)", userAccess)
