// Command govmomi-e2e drives a vcmock server's SOAP endpoint (/sdk) with govmomi's own packages
// (the Debian 0.24.2 library): session, finder, property collector, container view, power tasks,
// and the guest file, process and auth managers with the toolbox client that govc uses.
//
// Each check prints "PASS name" or "FAIL name: why"; the exit status is 1 when any check failed.
//
//	govmomi-e2e -url https://127.0.0.1:PORT/sdk -ca cert.pem -run connect,find,power,guest
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// config holds the command line.
type config struct {
	url       string
	insecure  bool
	caFile    string
	user      string
	pass      string
	vm        string
	vmOff     string
	winVM     string
	winUser   string
	winPass   string
	guestUser string
	guestPass string
	groups    map[string]bool
	timeout   time.Duration
}

// groupOrder is the order the groups run in, whatever order -run names them: power leaves the
// VM powered on again, so guest can follow it.
var groupOrder = []string{"connect", "find", "power", "guest"}

// parseFlags reads the command line; it needs -ca or -insecure and known -run groups.
func parseFlags() (*config, error) {
	c := &config{}
	var run string
	flag.StringVar(&c.url, "url", "https://127.0.0.1:8443/sdk", "vcmock SOAP endpoint")
	flag.BoolVar(&c.insecure, "insecure", false, "skip TLS verification (otherwise -ca is needed)")
	flag.StringVar(&c.caFile, "ca", "", "PEM file of the certificate authority to trust")
	flag.StringVar(&c.user, "user", "administrator@vsphere.local", "vCenter user")
	flag.StringVar(&c.pass, "pass", "VMware1!", "vCenter password")
	flag.StringVar(&c.vm, "vm", "linux-01", "name of a powered-on Linux VM with Tools running")
	flag.StringVar(&c.vmOff, "vm-off", "linux-off", "name of a powered-off VM with the same guest login")
	flag.StringVar(&c.winVM, "win-vm", "windows-01", "name of a powered-on Windows VM (empty: skip the Windows checks)")
	flag.StringVar(&c.winUser, "win-user", "Administrator", "guest user of -win-vm")
	flag.StringVar(&c.winPass, "win-pass", "AdminPw1!", "guest password of -win-vm")
	flag.StringVar(&c.guestUser, "guest-user", "root", "guest user of -vm")
	flag.StringVar(&c.guestPass, "guest-pass", "rootpw", "guest password of -vm")
	flag.StringVar(&run, "run", strings.Join(groupOrder, ","), "comma-separated groups to run: "+strings.Join(groupOrder, ","))
	flag.DurationVar(&c.timeout, "timeout", 2*time.Minute, "limit for each group")
	flag.Parse()
	if !c.insecure && c.caFile == "" {
		return nil, errors.New("give -ca FILE or -insecure")
	}
	c.groups = map[string]bool{}
	for _, g := range strings.Split(run, ",") {
		g = strings.TrimSpace(g)
		known := false
		for _, k := range groupOrder {
			known = known || k == g
		}
		if !known {
			return nil, fmt.Errorf("unknown group %q (known: %s)", g, strings.Join(groupOrder, ","))
		}
		c.groups[g] = true
	}
	return c, nil
}

// suite counts the outcomes of named checks.
type suite struct {
	cfg    *config
	client *govmomi.Client
	passed int
	failed int
}

// check runs one named check and prints its outcome.
func (s *suite) check(name string, fn func() error) {
	if err := fn(); err != nil {
		s.failed++
		fmt.Printf("FAIL %s: %v\n", name, err)
		return
	}
	s.passed++
	fmt.Printf("PASS %s\n", name)
}

// endpoint is the -url with the vCenter user's credentials in it.
func (s *suite) endpoint(password string) (*url.URL, error) {
	u, err := soap.ParseURL(s.cfg.url)
	if err != nil {
		return nil, err
	}
	u.User = url.UserPassword(s.cfg.user, password)
	return u, nil
}

// connect logs in the way govc does: govmomi.NewClient when TLS is not verified, and the same
// steps by hand (soap client, CA file, vim25 client, session login) when it is.
func (s *suite) connect(ctx context.Context, password string) (*govmomi.Client, error) {
	u, err := s.endpoint(password)
	if err != nil {
		return nil, err
	}
	if s.cfg.insecure {
		return govmomi.NewClient(ctx, u, true)
	}
	sc := soap.NewClient(u, false)
	if err := sc.SetRootCAs(s.cfg.caFile); err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, err
	}
	c := &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	if err := c.Login(ctx, u.User); err != nil {
		return nil, err
	}
	return c, nil
}

// faultOf digs the vim25 fault out of an error from a SOAP call or a task.
func faultOf(err error) types.AnyType {
	for err != nil {
		switch {
		case soap.IsSoapFault(err):
			return soap.ToSoapFault(err).VimFault()
		case soap.IsVimFault(err):
			return soap.ToVimFault(err)
		}
		if te, ok := err.(task.Error); ok {
			return te.Fault()
		}
		if hf, ok := err.(types.HasFault); ok {
			return hf.Fault()
		}
		err = errors.Unwrap(err)
	}
	return nil
}

// faultName is the vim25 type name of err's fault ("InvalidLogin"), or "" when it has none.
func faultName(err error) string {
	f := faultOf(err)
	if f == nil {
		return ""
	}
	t := reflect.TypeOf(f)
	for t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	return t.Name()
}

// expectFault turns "err carries fault want" into nil and anything else into an explanation.
func expectFault(err error, want string) error {
	if err == nil {
		return fmt.Errorf("expected fault %s, the call succeeded", want)
	}
	if got := faultName(err); got != want {
		return fmt.Errorf("expected fault %s, got %q (%v)", want, got, err)
	}
	return nil
}

// main logs in (through the connect group when it is chosen), runs the chosen groups in
// groupOrder, logs out and sets the exit status.
func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "govmomi-e2e:", err)
		os.Exit(2)
	}
	s := &suite{cfg: cfg}

	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	if cfg.groups["connect"] {
		s.connectChecks(ctx)
	} else {
		s.client, err = s.connect(ctx, cfg.pass)
		if err != nil {
			fmt.Printf("FAIL login: %v\n", err)
			os.Exit(1)
		}
	}
	cancel()
	if s.client == nil {
		fmt.Printf("govmomi-e2e: no session, %d passed, %d failed\n", s.passed, s.failed)
		os.Exit(1)
	}

	groups := map[string]func(context.Context){
		"find":  s.findChecks,
		"power": s.powerChecks,
		"guest": s.guestChecks,
	}
	for _, g := range groupOrder[1:] {
		if cfg.groups[g] {
			ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
			groups[g](ctx)
			cancel()
		}
	}

	ctx, cancel = context.WithTimeout(context.Background(), cfg.timeout)
	s.logoutChecks(ctx)
	cancel()

	fmt.Printf("govmomi-e2e: %d passed, %d failed\n", s.passed, s.failed)
	if s.failed > 0 {
		os.Exit(1)
	}
}
