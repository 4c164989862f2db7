package main

import (
	"context"
	"errors"
	"fmt"
)

// connectChecks: a bad password is InvalidLogin, a good one gives a vCenter (not ESXi) session
// that the session manager can read back.
func (s *suite) connectChecks(ctx context.Context) {
	s.check("connect: a bad password is refused with InvalidLogin", func() error {
		c, err := s.connect(ctx, s.cfg.pass+"-wrong")
		if err == nil {
			_ = c.Logout(ctx)
		}
		return expectFault(err, "InvalidLogin")
	})

	s.check("connect: govmomi.NewClient logs in with the good password", func() error {
		c, err := s.connect(ctx, s.cfg.pass)
		if err != nil {
			return err
		}
		s.client = c
		return nil
	})
	if s.client == nil {
		return
	}

	s.check("connect: about.apiType is VirtualCenter", func() error {
		about := s.client.ServiceContent.About
		fmt.Printf("     about: %s | version %s build %s | apiVersion %s\n",
			about.FullName, about.Version, about.Build, about.ApiVersion)
		if about.ApiType != "VirtualCenter" {
			return fmt.Errorf("apiType %q", about.ApiType)
		}
		if !s.client.IsVC() {
			return errors.New("IsVC() is false")
		}
		return nil
	})

	s.check("connect: SessionManager.UserSession reads the current session", func() error {
		us, err := s.client.SessionManager.UserSession(ctx)
		if err != nil {
			return err
		}
		if us == nil {
			return errors.New("currentSession is unset right after login")
		}
		if us.Key == "" || us.UserName == "" {
			return fmt.Errorf("key %q, userName %q", us.Key, us.UserName)
		}
		fmt.Printf("     session: userName %q fullName %q loginTime %s\n", us.UserName, us.FullName, us.LoginTime)
		return nil
	})
}

// logoutChecks ends the session; with the connect group it also shows the session is gone.
func (s *suite) logoutChecks(ctx context.Context) {
	if !s.cfg.groups["connect"] {
		_ = s.client.Logout(ctx)
		return
	}
	s.check("connect: Logout ends the session", func() error {
		return s.client.Logout(ctx)
	})
	s.check("connect: after Logout the session manager reports no session", func() error {
		us, err := s.client.SessionManager.UserSession(ctx)
		if err != nil {
			if name := faultName(err); name == "NotAuthenticated" {
				return nil
			}
			return err
		}
		if us != nil {
			return fmt.Errorf("currentSession still set: %q", us.Key)
		}
		return nil
	})
}
