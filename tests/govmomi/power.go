package main

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// powerChecks: power off and on as tasks waited on with the property collector, and a second
// power on failing with InvalidPowerState.
func (s *suite) powerChecks(ctx context.Context) {
	vm, err := s.findVM(ctx, s.cfg.vm)
	if err != nil {
		s.check("power: find the VM", func() error { return err })
		return
	}

	s.check("power: PowerOff then task.WaitForResult reports success on the VM", func() error {
		t, err := vm.PowerOff(ctx)
		if err != nil {
			return err
		}
		info, err := t.WaitForResult(ctx, nil)
		if err != nil {
			return err
		}
		if info.State != types.TaskInfoStateSuccess {
			return fmt.Errorf("task state %s", info.State)
		}
		if info.Entity == nil || *info.Entity != vm.Reference() {
			return fmt.Errorf("task entity %v", info.Entity)
		}
		return s.expectPower(ctx, vm, types.VirtualMachinePowerStatePoweredOff)
	})

	s.check("power: PowerOn then task.Wait succeeds", func() error {
		t, err := vm.PowerOn(ctx)
		if err != nil {
			return err
		}
		if err := t.Wait(ctx); err != nil {
			return err
		}
		return s.expectPower(ctx, vm, types.VirtualMachinePowerStatePoweredOn)
	})

	s.check("power: a second PowerOn fails with InvalidPowerState", func() error {
		t, err := vm.PowerOn(ctx)
		if err != nil {
			return expectFault(err, "InvalidPowerState")
		}
		err = t.Wait(ctx)
		if ferr := expectFault(err, "InvalidPowerState"); ferr != nil {
			return ferr
		}
		var existing types.VirtualMachinePowerState
		switch f := faultOf(err).(type) {
		case *types.InvalidPowerState:
			existing = f.ExistingState
		case types.InvalidPowerState:
			existing = f.ExistingState
		}
		if existing != types.VirtualMachinePowerStatePoweredOn {
			return fmt.Errorf("InvalidPowerState.existingState %q, want poweredOn", existing)
		}
		return nil
	})
}

// expectPower reads runtime.powerState back and compares it with want.
func (s *suite) expectPower(ctx context.Context, vm *object.VirtualMachine, want types.VirtualMachinePowerState) error {
	var got mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"runtime.powerState"}, &got); err != nil {
		return err
	}
	if got.Runtime.PowerState != want {
		return fmt.Errorf("runtime.powerState %s, want %s", got.Runtime.PowerState, want)
	}
	return nil
}
