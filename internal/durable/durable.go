// Package durable writes files so that a crash leaves either the old or
// the new state: write under a temporary name, fsync, rename, fsync the
// folder. The raw writer, the ledger and the publisher share it.
package durable

import (
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts every temporary name, so recovery can find leftovers.
const TempPrefix = ".tmp-"

// IsTemp reports whether a path names one of our temporary files.
func IsTemp(path string) bool { return strings.HasPrefix(filepath.Base(path), TempPrefix) }

// WriteFile writes b to path atomically: a crash leaves the old file or
// the new one, never a mix.
func WriteFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), TempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	_, err = Commit(f, path)
	return err
}

// Commit syncs and closes f, a temporary file, renames it to final and
// syncs final's folder. On failure the temporary file is removed.
func Commit(f *os.File, final string) (string, error) {
	tmp := f.Name()
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return final, SyncDir(filepath.Dir(final))
}

// SyncTree syncs every file directly in dir, then dir itself.
func SyncTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, d := range entries {
		f, err := os.Open(filepath.Join(dir, d.Name()))
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return SyncDir(dir)
}

// SyncDir makes a folder's entries (new names, renames) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
