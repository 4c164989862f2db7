module vcmock.test/govmomi

go 1.19

require github.com/vmware/govmomi v0.24.2

// Everything comes from Debian packages unpacked by scripts/govmomi-e2e.sh into
// target/go-cache/root (no module proxy is reachable). The versions on the left are the ones
// govmomi 0.24.2 and its dependencies ask for; the directories hold what Debian ships.
replace (
	github.com/creack/pty => ../../target/go-cache/root/usr/share/gocode/src/github.com/creack/pty
	github.com/davecgh/go-xdr => ../../target/go-cache/root/usr/share/gocode/src/github.com/davecgh/go-xdr
	github.com/google/uuid => ../../target/go-cache/root/usr/share/gocode/src/github.com/google/uuid
	github.com/kr/pretty => ../../target/go-cache/root/usr/share/gocode/src/github.com/kr/pretty
	github.com/kr/text => ../../target/go-cache/root/usr/share/gocode/src/github.com/kr/text
	github.com/pkg/diff => ../../target/go-cache/root/usr/share/gocode/src/github.com/pkg/diff
	github.com/rogpeppe/go-internal => ../../target/go-cache/root/usr/share/gocode/src/github.com/rogpeppe/go-internal
	github.com/vmware/govmomi => ../../target/go-cache/root/usr/share/gocode/src/github.com/vmware/govmomi
	github.com/vmware/vmw-guestinfo => ../../target/go-cache/root/usr/share/gocode/src/github.com/vmware/vmw-guestinfo
)
