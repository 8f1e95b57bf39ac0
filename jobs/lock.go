// Package jobs runs hlwarn's jobs against a data folder: extraction (and,
// as they land, transform, daily run, backfill and schedule), each under the
// data folder's single-writer lock, with crash recovery first.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Lock is the data folder's single-writer lock (an flock on <data>/.lock).
// The kernel releases it when the process dies, so a crash never leaves the
// folder locked.
type Lock struct {
	f *os.File
}

// LockHolder describes the job that holds the lock.
type LockHolder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

// LockedError is returned when another job holds the lock.
type LockedError struct {
	Dir    string
	Holder LockHolder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("another hlwarn job (pid %d, %q, since %s) holds the data folder %s; wait for it to finish or pass --wait",
		e.Holder.PID, e.Holder.Command, e.Holder.Since.Format(time.RFC3339), e.Dir)
}

// AcquireLock takes the data folder's lock for command. With wait it blocks
// until the lock is free or ctx ends; otherwise it fails at once with a
// *LockedError naming the holder.
func AcquireLock(ctx context.Context, dataDir, command string, wait bool) (*Lock, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the data folder: %w", err)
	}
	path := filepath.Join(dataDir, ".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !wait {
			holder := readHolder(path)
			f.Close()
			return nil, &LockedError{Dir: dataDir, Holder: holder}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	b, _ := json.Marshal(LockHolder{PID: os.Getpid(), Command: command, Since: time.Now()})
	if err := f.Truncate(0); err == nil {
		f.WriteAt(b, 0)
		f.Sync()
	}
	return &Lock{f: f}, nil
}

func readHolder(path string) LockHolder {
	var h LockHolder
	b, err := os.ReadFile(path)
	if err == nil {
		_ = json.Unmarshal([]byte(strings.TrimSpace(string(b))), &h)
	}
	return h
}

// Release frees the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
