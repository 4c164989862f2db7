package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/vmware/govmomi/guest"
	"github.com/vmware/govmomi/guest/toolbox"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// guestBase is the directory the guest checks work in; each run starts from a fresh server.
const guestBase = "/tmp/govmomi-e2e"

// guestAuth is the NamePasswordAuthentication govc builds from GOVC_GUEST_LOGIN.
func (s *suite) guestAuth(password string) types.BaseGuestAuthentication {
	return &types.NamePasswordAuthentication{Username: s.cfg.guestUser, Password: password}
}

// guestEnv is what every guest check needs: the managers and a toolbox client over them.
type guestEnv struct {
	fm   *guest.FileManager
	pm   *guest.ProcessManager
	am   *guest.AuthManager
	auth types.BaseGuestAuthentication
	tc   *toolbox.Client
}

// newGuestEnv finds -vm and its guest managers, as govc's guest commands do.
func (s *suite) newGuestEnv(ctx context.Context) (*guestEnv, error) {
	vm, err := s.findVM(ctx, s.cfg.vm)
	if err != nil {
		return nil, err
	}
	om := guest.NewOperationsManager(s.client.Client, vm.Reference())
	g := &guestEnv{auth: s.guestAuth(s.cfg.guestPass)}
	if g.fm, err = om.FileManager(ctx); err != nil {
		return nil, fmt.Errorf("fileManager: %w", err)
	}
	if g.pm, err = om.ProcessManager(ctx); err != nil {
		return nil, fmt.Errorf("processManager: %w", err)
	}
	if g.am, err = om.AuthManager(ctx); err != nil {
		return nil, fmt.Errorf("authManager: %w", err)
	}
	// 0.24.2 has no toolbox.NewClient: govc of that version builds the struct like this.
	g.tc = &toolbox.Client{
		ProcessManager: g.pm,
		FileManager:    g.fm,
		Authentication: g.auth,
		GuestFamily:    types.VirtualMachineGuestOsFamilyLinuxGuest,
	}
	return g, nil
}

// list pages through a directory maxResults entries at a time, checking that remaining is exact.
func (g *guestEnv) list(ctx context.Context, dir string, maxResults int32, pattern string) ([]types.GuestFileInfo, error) {
	var all []types.GuestFileInfo
	total := -1
	for index := int32(0); ; {
		page, err := g.fm.ListFiles(ctx, g.auth, dir, index, maxResults, pattern)
		if err != nil {
			return nil, err
		}
		if maxResults > 0 && int32(len(page.Files)) > maxResults {
			return nil, fmt.Errorf("index %d: %d files for maxResults %d", index, len(page.Files), maxResults)
		}
		all = append(all, page.Files...)
		index += int32(len(page.Files))
		if total < 0 {
			total = len(page.Files) + int(page.Remaining)
		} else if want := total - int(index); int(page.Remaining) != want {
			return nil, fmt.Errorf("index %d: remaining %d, want %d", index, page.Remaining, want)
		}
		if page.Remaining == 0 {
			break
		}
		if len(page.Files) == 0 {
			return nil, fmt.Errorf("index %d: no files but remaining %d (govc would loop forever)", index, page.Remaining)
		}
	}
	if len(all) != total {
		return nil, fmt.Errorf("%d files, first page promised %d", len(all), total)
	}
	return all, nil
}

// byName indexes a listing by base name.
func byName(files []types.GuestFileInfo) map[string]types.GuestFileInfo {
	m := map[string]types.GuestFileInfo{}
	for _, f := range files {
		p := f.Path
		if i := strings.LastIndex(p, "/"); i >= 0 {
			p = p[i+1:]
		}
		m[p] = f
	}
	return m
}

// posix returns a file's posix attributes, which govc dereferences without checking.
func posix(f types.GuestFileInfo) (*types.GuestPosixFileAttributes, error) {
	a, ok := f.Attributes.(*types.GuestPosixFileAttributes)
	if !ok {
		return nil, fmt.Errorf("%s: attributes %T, want GuestPosixFileAttributes", f.Path, f.Attributes)
	}
	if a.OwnerId == nil || a.GroupId == nil {
		return nil, fmt.Errorf("%s: ownerId %v groupId %v (govc panics on nil)", f.Path, a.OwnerId, a.GroupId)
	}
	return a, nil
}

// download reads a guest file through the toolbox client.
func (g *guestEnv) download(ctx context.Context, path string) ([]byte, int64, error) {
	rc, n, err := g.tc.Download(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, n, err
}

// guestChecks: every file manager method govc uses, toolbox upload/download, and program runs.
func (s *suite) guestChecks(ctx context.Context) {
	g, err := s.newGuestEnv(ctx)
	if err != nil {
		s.check("guest: the guest operations managers", func() error { return err })
		return
	}

	s.check("guest: a guest call on a powered-off VM fails with InvalidPowerState", func() error {
		off, err := s.findVM(ctx, s.cfg.vmOff)
		if err != nil {
			return err
		}
		pm, err := guest.NewOperationsManager(s.client.Client, off.Reference()).ProcessManager(ctx)
		if err != nil {
			return err
		}
		_, err = pm.ListProcesses(ctx, g.auth, nil)
		return expectFault(err, "InvalidPowerState")
	})

	s.check("guest: ValidateCredentials accepts the password and refuses a wrong one with InvalidGuestLogin", func() error {
		if err := g.am.ValidateCredentials(ctx, g.auth); err != nil {
			return err
		}
		return expectFault(g.am.ValidateCredentials(ctx, s.guestAuth(s.cfg.guestPass+"-wrong")), "InvalidGuestLogin")
	})

	s.check("guest: a file call with a wrong password fails with InvalidGuestLogin", func() error {
		_, err := g.fm.ListFiles(ctx, s.guestAuth(s.cfg.guestPass+"-wrong"), "/tmp", 0, 0, "")
		return expectFault(err, "InvalidGuestLogin")
	})

	s.check("guest: MakeDirectory with parents creates a nested directory; again without is FileAlreadyExists", func() error {
		if err := g.fm.MakeDirectory(ctx, g.auth, guestBase+"/a/b", true); err != nil {
			return err
		}
		return expectFault(g.fm.MakeDirectory(ctx, g.auth, guestBase+"/a", false), "FileAlreadyExists")
	})

	s.check("guest: MakeDirectory without parents under a missing directory fails with FileNotFound", func() error {
		return expectFault(g.fm.MakeDirectory(ctx, g.auth, guestBase+"/missing/child", false), "FileNotFound")
	})

	var tmpFile, tmpDir string
	s.check("guest: CreateTemporaryFile and CreateTemporaryDirectory honour prefix, suffix and directory", func() error {
		var err error
		if tmpFile, err = g.fm.CreateTemporaryFile(ctx, g.auth, "govmomi-", ".txt", guestBase); err != nil {
			return err
		}
		if !strings.HasPrefix(tmpFile, guestBase+"/govmomi-") || !strings.HasSuffix(tmpFile, ".txt") {
			return fmt.Errorf("temporary file %q", tmpFile)
		}
		if tmpDir, err = g.fm.CreateTemporaryDirectory(ctx, g.auth, "govmomi-dir-", "", guestBase); err != nil {
			return err
		}
		if !strings.HasPrefix(tmpDir, guestBase+"/govmomi-dir-") {
			return fmt.Errorf("temporary directory %q", tmpDir)
		}
		def, err := g.fm.CreateTemporaryFile(ctx, g.auth, "govmomi-", "", "")
		if err != nil {
			return fmt.Errorf("in the default directory: %w", err)
		}
		fmt.Printf("     temporary: %s, %s, %s\n", tmpFile, tmpDir, def)
		return g.fm.DeleteFile(ctx, g.auth, def)
	})

	s.check("guest: ListFiles pages one entry at a time with an exact remaining and posix attributes", func() error {
		one, err := g.list(ctx, guestBase, 1, "")
		if err != nil {
			return err
		}
		all, err := g.list(ctx, guestBase, 0, "")
		if err != nil {
			return err
		}
		if len(one) != len(all) {
			return fmt.Errorf("%d entries one at a time, %d at once", len(one), len(all))
		}
		names := byName(all)
		for _, want := range []string{"a", tmpFile[len(guestBase)+1:], tmpDir[len(guestBase)+1:]} {
			f, ok := names[want]
			if !ok {
				return fmt.Errorf("%q not listed in %v", want, all)
			}
			if _, err := posix(f); err != nil {
				return err
			}
		}
		if names["a"].Type != "directory" || names[tmpFile[len(guestBase)+1:]].Type != "file" {
			return fmt.Errorf("types: a=%q file=%q", names["a"].Type, names[tmpFile[len(guestBase)+1:]].Type)
		}
		return nil
	})

	s.check("guest: ListFiles with a matchPattern lists only the matching names", func() error {
		got, err := g.list(ctx, guestBase, 0, `govmomi-.*\.txt`)
		if err != nil {
			return err
		}
		if len(got) != 1 || !strings.HasSuffix(got[0].Path, ".txt") {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})

	s.check("guest: ListFiles of a missing path fails with FileNotFound, of no path with InvalidArgument", func() error {
		_, err := g.fm.ListFiles(ctx, g.auth, guestBase+"/enoent", 0, 0, "")
		if err := expectFault(err, "FileNotFound"); err != nil {
			return err
		}
		_, err = g.fm.ListFiles(ctx, g.auth, "", 0, 0, "")
		return expectFault(err, "InvalidArgument")
	})

	moved := guestBase + "/moved.txt"
	s.check("guest: MoveFile renames a file; on a directory it fails with NotAFile and MoveDirectory works", func() error {
		if err := g.fm.MoveFile(ctx, g.auth, tmpFile, moved, false); err != nil {
			return err
		}
		if err := expectFault(g.fm.MoveFile(ctx, g.auth, tmpDir, guestBase+"/dir-as-file", false), "NotAFile"); err != nil {
			return err
		}
		if err := g.fm.MoveDirectory(ctx, g.auth, tmpDir, guestBase+"/moved-dir"); err != nil {
			return fmt.Errorf("MoveDirectory: %w", err)
		}
		names := byName(mustList(ctx, g, guestBase))
		_, hasMoved := names["moved.txt"]
		_, hasDir := names["moved-dir"]
		_, hasOld := names[tmpFile[len(guestBase)+1:]]
		if !hasMoved || !hasDir || hasOld {
			return fmt.Errorf("after the moves: %v", names)
		}
		return nil
	})

	hello := guestBase + "/hello.txt"
	content := "hello from govmomi\n"
	s.check("guest: toolbox Upload then Download gives back the same bytes and size", func() error {
		err := g.tc.Upload(ctx, strings.NewReader(content), hello, soap.DefaultUpload, &types.GuestPosixFileAttributes{}, true)
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		b, n, err := g.download(ctx, hello)
		if err != nil {
			return fmt.Errorf("download: %w", err)
		}
		if string(b) != content || n != int64(len(content)) {
			return fmt.Errorf("downloaded %q (size %d)", b, n)
		}
		return nil
	})

	s.check("guest: an upload without overwrite onto an existing file fails with FileAlreadyExists", func() error {
		err := g.tc.Upload(ctx, strings.NewReader("x"), hello, soap.DefaultUpload, &types.GuestPosixFileAttributes{}, false)
		return expectFault(err, "FileAlreadyExists")
	})

	s.check("guest: a download URL works once; the second GET is refused", func() error {
		info, err := g.fm.InitiateFileTransferFromGuest(ctx, g.auth, hello)
		if err != nil {
			return err
		}
		if info.Size != int64(len(content)) {
			return fmt.Errorf("FileTransferInformation.size %d", info.Size)
		}
		if raw, err := url.Parse(info.Url); err != nil || strings.Contains(raw.RawQuery, "443") {
			return fmt.Errorf("URL %q: the query must parse and hold no 443, which Ansible rewrites", info.Url)
		}
		u, err := g.fm.TransferURL(ctx, info.Url)
		if err != nil {
			return err
		}
		p := soap.DefaultDownload
		rc, _, err := s.client.Client.Download(ctx, u, &p)
		if err != nil {
			return fmt.Errorf("first GET: %w", err)
		}
		_, _ = io.Copy(io.Discard, rc)
		rc.Close()
		if rc, _, err := s.client.Client.Download(ctx, u, &p); err == nil {
			rc.Close()
			return errors.New("the second GET succeeded")
		}
		return nil
	})

	s.check("guest: ChangeFileAttributes sets posix permissions", func() error {
		if err := g.fm.ChangeFileAttributes(ctx, g.auth, hello, &types.GuestPosixFileAttributes{Permissions: 0o600}); err != nil {
			return err
		}
		f, ok := byName(mustList(ctx, g, guestBase))["hello.txt"]
		if !ok {
			return errors.New("hello.txt not listed")
		}
		a, err := posix(f)
		if err != nil {
			return err
		}
		if a.Permissions&0o777 != 0o600 {
			return fmt.Errorf("permissions %o", a.Permissions)
		}
		return nil
	})

	s.check("guest: StartProgram of bash -c with redirections, polled with ListProcesses, writes uname output", func() error {
		return s.startAndPoll(ctx, g)
	})

	s.check("guest: toolbox Run (govc guest.run) of uname -a prints Linux", func() error {
		var out, errOut bytes.Buffer
		cmd := &exec.Cmd{Path: "uname", Args: []string{"-a"}, Stdout: &out, Stderr: &errOut}
		if err := g.tc.Run(ctx, cmd); err != nil {
			return fmt.Errorf("%w (stderr %q)", err, errOut.String())
		}
		if !strings.Contains(out.String(), "Linux") {
			return fmt.Errorf("stdout %q", out.String())
		}
		return nil
	})

	s.check("guest: toolbox Run with -e FOO=bar -C /tmp env shows FOO=bar and PWD=/tmp", func() error {
		var out bytes.Buffer
		cmd := &exec.Cmd{Path: "env", Env: []string{"FOO=bar"}, Dir: "/tmp", Stdout: &out, Stderr: io.Discard}
		if err := g.tc.Run(ctx, cmd); err != nil {
			return err
		}
		lines := strings.Split(out.String(), "\n")
		if !contains(lines, "FOO=bar") || !contains(lines, "PWD=/tmp") {
			return fmt.Errorf("env printed %q", out.String())
		}
		return nil
	})

	s.check("guest: toolbox Run of a failing command returns its exit code", func() error {
		cmd := &exec.Cmd{Path: "false", Stdout: io.Discard, Stderr: io.Discard}
		err := g.tc.Run(ctx, cmd)
		var ec interface{ ExitCode() int }
		if !errors.As(err, &ec) || ec.ExitCode() != 1 {
			return fmt.Errorf("got %v, want exit code 1", err)
		}
		return nil
	})

	s.check("guest: ReadEnvironmentVariable returns NAME=value", func() error {
		vars, err := g.pm.ReadEnvironmentVariable(ctx, g.auth, []string{"PATH"})
		if err != nil {
			return err
		}
		if len(vars) != 1 || !strings.HasPrefix(vars[0], "PATH=/") {
			return fmt.Errorf("got %q", vars)
		}
		return nil
	})

	s.check("guest: TerminateProcess of an unknown pid fails with GuestProcessNotFound", func() error {
		return expectFault(g.pm.TerminateProcess(ctx, g.auth, 987654), "GuestProcessNotFound")
	})

	s.check("guest: DeleteFile removes a file; a missing one is FileNotFound and a directory is NotAFile", func() error {
		if err := g.fm.DeleteFile(ctx, g.auth, moved); err != nil {
			return err
		}
		if err := expectFault(g.fm.DeleteFile(ctx, g.auth, moved), "FileNotFound"); err != nil {
			return err
		}
		return expectFault(g.fm.DeleteFile(ctx, g.auth, guestBase+"/a"), "NotAFile")
	})

	s.check("guest: DeleteDirectory refuses a file (NotADirectory) and a non-empty tree (DirectoryNotEmpty), removes it recursively, then finds nothing (FileNotFound)", func() error {
		if err := expectFault(g.fm.DeleteDirectory(ctx, g.auth, hello, false), "NotADirectory"); err != nil {
			return err
		}
		if err := expectFault(g.fm.DeleteDirectory(ctx, g.auth, guestBase, false), "DirectoryNotEmpty"); err != nil {
			return err
		}
		if err := g.fm.DeleteDirectory(ctx, g.auth, guestBase, true); err != nil {
			return err
		}
		_, err := g.fm.ListFiles(ctx, g.auth, guestBase, 0, 0, "")
		if ferr := expectFault(err, "FileNotFound"); ferr != nil {
			return ferr
		}
		return expectFault(g.fm.DeleteDirectory(ctx, g.auth, guestBase, true), "FileNotFound")
	})

	if s.cfg.winVM != "" {
		s.windowsChecks(ctx)
	}
}

// windowsChecks: govc's toolbox on a Windows guest, where Run goes through cmd.exe /c.
func (s *suite) windowsChecks(ctx context.Context) {
	vm, err := s.findVM(ctx, s.cfg.winVM)
	if err != nil {
		s.check("guest: Windows: find the VM", func() error { return err })
		return
	}
	om := guest.NewOperationsManager(s.client.Client, vm.Reference())
	auth := &types.NamePasswordAuthentication{Username: s.cfg.winUser, Password: s.cfg.winPass}
	fm, err := om.FileManager(ctx)
	if err != nil {
		s.check("guest: Windows: fileManager", func() error { return err })
		return
	}
	pm, err := om.ProcessManager(ctx)
	if err != nil {
		s.check("guest: Windows: processManager", func() error { return err })
		return
	}
	tc := &toolbox.Client{ProcessManager: pm, FileManager: fm, Authentication: auth,
		GuestFamily: types.VirtualMachineGuestOsFamilyWindowsGuest}
	w := &guestEnv{fm: fm, pm: pm, auth: auth, tc: tc}

	s.check("guest: Windows: ListFiles gives windows attributes", func() error {
		files, err := w.list(ctx, `C:\Temp`, 0, "")
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return errors.New(`C:\Temp is empty`)
		}
		for _, f := range files {
			if _, ok := f.Attributes.(*types.GuestWindowsFileAttributes); !ok {
				return fmt.Errorf("%s: attributes %T, want GuestWindowsFileAttributes", f.Path, f.Attributes)
			}
		}
		return nil
	})

	s.check("guest: Windows: toolbox Upload then Download round-trips the bytes", func() error {
		const body = "hello windows\r\n"
		dst := `C:\Temp\govmomi.txt`
		err := tc.Upload(ctx, strings.NewReader(body), dst, soap.DefaultUpload, &types.GuestWindowsFileAttributes{}, true)
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		b, n, err := w.download(ctx, dst)
		if err != nil {
			return fmt.Errorf("download: %w", err)
		}
		if string(b) != body || n != int64(len(body)) {
			return fmt.Errorf("downloaded %q (size %d)", b, n)
		}
		return fm.DeleteFile(ctx, auth, dst)
	})

	s.check("guest: Windows: toolbox Run goes through cmd.exe /c and brings stdout back", func() error {
		var out bytes.Buffer
		cmd := &exec.Cmd{Path: "echo", Args: []string{"hi", "from", "cmd"}, Stdout: &out, Stderr: io.Discard}
		if err := tc.Run(ctx, cmd); err != nil {
			return err
		}
		if strings.TrimSpace(out.String()) != "hi from cmd" {
			return fmt.Errorf("stdout %q", out.String())
		}
		return nil
	})
}

// startAndPoll is govc guest.run by hand: bash -c with the redirections in the command string,
// ListProcesses([pid]) until endTime is set, then the output file downloaded.
func (s *suite) startAndPoll(ctx context.Context, g *guestEnv) error {
	spec := &types.GuestProgramSpec{
		ProgramPath:      "/bin/bash",
		Arguments:        "-c 'uname -a 1> /tmp/o 2> /tmp/e'",
		WorkingDirectory: "/tmp",
	}
	pid, err := g.pm.StartProgram(ctx, g.auth, spec)
	if err != nil {
		return err
	}
	if pid <= 0 {
		return fmt.Errorf("pid %d", pid)
	}
	var proc types.GuestProcessInfo
	for i := 0; ; i++ {
		procs, err := g.pm.ListProcesses(ctx, g.auth, []int64{pid})
		if err != nil {
			return err
		}
		if len(procs) != 1 || procs[0].Pid != pid {
			return fmt.Errorf("ListProcesses([%d]) gave %+v (govc indexes procs[0])", pid, procs)
		}
		proc = procs[0]
		if proc.EndTime != nil {
			break
		}
		if i > 120 {
			return fmt.Errorf("pid %d still running after a minute", pid)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if proc.ExitCode != 0 || proc.Owner != s.cfg.guestUser || proc.StartTime.IsZero() || proc.EndTime.Before(proc.StartTime) {
		return fmt.Errorf("process %+v", proc)
	}
	out, _, err := g.download(ctx, "/tmp/o")
	if err != nil {
		return fmt.Errorf("download /tmp/o: %w", err)
	}
	if !strings.Contains(string(out), "Linux") {
		return fmt.Errorf("/tmp/o holds %q", out)
	}
	for _, f := range []string{"/tmp/o", "/tmp/e"} {
		if err := g.fm.DeleteFile(ctx, g.auth, f); err != nil {
			return fmt.Errorf("delete %s: %w", f, err)
		}
	}
	return nil
}

// mustList lists a directory whole, or nothing when that fails (the caller's check then fails).
func mustList(ctx context.Context, g *guestEnv, dir string) []types.GuestFileInfo {
	files, err := g.list(ctx, dir, 0, "")
	if err != nil {
		fmt.Printf("     list %s: %v\n", dir, err)
	}
	return files
}

// contains reports whether a line of list, trimmed, equals s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}
