package durable

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileReplacesAtomically(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, body := range []string{"first", "second, longer than the first"} {
		if err := WriteFile(path, []byte(body)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != body {
			t.Fatalf("read %q, %v; want %q", got, err, body)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left beside the file: %v", entries)
	}
}

func TestCommitFailureRemovesTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := os.CreateTemp(dir, TempPrefix+"x-*")
	if err != nil {
		t.Fatal(err)
	}
	if !IsTemp(f.Name()) {
		t.Fatalf("%s is not recognised as temporary", f.Name())
	}
	if _, err := Commit(f, filepath.Join(dir, "missing-folder", "x")); err == nil {
		t.Fatal("commit into a missing folder succeeded")
	}
	if _, err := os.Stat(f.Name()); !os.IsNotExist(err) {
		t.Errorf("the temporary file survived a failed commit: %v", err)
	}
}

func TestSyncTree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SyncTree(dir); err != nil {
		t.Fatal(err)
	}
	if err := SyncTree(filepath.Join(dir, "nope")); err == nil {
		t.Error("syncing a missing folder succeeded")
	}
}
