package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// findVM locates -vm with the finder, as govc's -vm flag does.
func (s *suite) findVM(ctx context.Context, name string) (*object.VirtualMachine, error) {
	finder := find.NewFinder(s.client.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return nil, fmt.Errorf("default datacenter: %w", err)
	}
	finder.SetDatacenter(dc)
	return finder.VirtualMachine(ctx, name)
}

// findChecks: the finder's traversals, the property collector over every VM, a whole summary,
// a container view, the search index and paged RetrievePropertiesEx.
func (s *suite) findChecks(ctx context.Context) {
	finder := find.NewFinder(s.client.Client, true)
	var dc *object.Datacenter
	s.check("find: DefaultDatacenter finds the one datacenter", func() error {
		var err error
		dc, err = finder.DefaultDatacenter(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("     datacenter: %s (%s)\n", dc.InventoryPath, dc.Reference())
		if !strings.HasPrefix(dc.InventoryPath, "/") || dc.Reference().Type != "Datacenter" {
			return fmt.Errorf("inventory path %q, ref %s", dc.InventoryPath, dc.Reference())
		}
		finder.SetDatacenter(dc)
		return nil
	})
	if dc == nil {
		return
	}

	var vms []*object.VirtualMachine
	s.check("find: VirtualMachineList(\"*\") lists the VMs under the vm folder", func() error {
		var err error
		vms, err = finder.VirtualMachineList(ctx, "*")
		if err != nil {
			return err
		}
		var names []string
		for _, vm := range vms {
			names = append(names, vm.Name())
			if want := dc.InventoryPath + "/vm/" + vm.Name(); vm.InventoryPath != want {
				return fmt.Errorf("inventory path %q, want %q", vm.InventoryPath, want)
			}
		}
		fmt.Printf("     vms: %s\n", strings.Join(names, ", "))
		for _, n := range names {
			if n == s.cfg.vm {
				return nil
			}
		}
		return fmt.Errorf("%q is not among %v", s.cfg.vm, names)
	})
	if len(vms) == 0 {
		return
	}

	refs := make([]types.ManagedObjectReference, len(vms))
	for i, vm := range vms {
		refs[i] = vm.Reference()
	}
	var target mo.VirtualMachine
	s.check("find: the property collector reads name, power, uuid and Tools of every VM", func() error {
		var got []mo.VirtualMachine
		props := []string{"name", "runtime.powerState", "config.uuid", "guest.toolsRunningStatus"}
		if err := s.client.Retrieve(ctx, refs, props, &got); err != nil {
			return err
		}
		if len(got) != len(refs) {
			return fmt.Errorf("%d objects for %d VMs", len(got), len(refs))
		}
		for _, vm := range got {
			if vm.Name == "" || vm.Runtime.PowerState == "" || vm.Config == nil || vm.Config.Uuid == "" {
				return fmt.Errorf("%s: name %q powerState %q config %v", vm.Self, vm.Name, vm.Runtime.PowerState, vm.Config)
			}
			if vm.Name == s.cfg.vm {
				target = vm
			}
		}
		if target.Name == "" {
			return fmt.Errorf("%q missing from the result", s.cfg.vm)
		}
		if target.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			return fmt.Errorf("%s is %s", s.cfg.vm, target.Runtime.PowerState)
		}
		if target.Guest == nil || target.Guest.ToolsRunningStatus != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
			return fmt.Errorf("%s guest %+v", s.cfg.vm, target.Guest)
		}
		return nil
	})
	if target.Name == "" {
		return
	}

	s.check("find: RetrieveOne of summary gives the whole VirtualMachineSummary", func() error {
		var vm mo.VirtualMachine
		if err := s.client.RetrieveOne(ctx, target.Self, []string{"summary"}, &vm); err != nil {
			return err
		}
		sum := vm.Summary
		if sum.Config.Name != target.Name || sum.Config.Uuid != target.Config.Uuid {
			return fmt.Errorf("summary.config name %q uuid %q, want %q %q", sum.Config.Name, sum.Config.Uuid, target.Name, target.Config.Uuid)
		}
		if sum.Runtime.PowerState != target.Runtime.PowerState {
			return fmt.Errorf("summary.runtime.powerState %q", sum.Runtime.PowerState)
		}
		if sum.Vm == nil || *sum.Vm != target.Self {
			return fmt.Errorf("summary.vm %v", sum.Vm)
		}
		if sum.Guest == nil || sum.Guest.ToolsRunningStatus != target.Guest.ToolsRunningStatus {
			return fmt.Errorf("summary.guest %+v", sum.Guest)
		}
		return nil
	})

	s.check("find: a recursive ContainerView of the root folder holds the same VMs", func() error {
		v, err := view.NewManager(s.client.Client).CreateContainerView(ctx, s.client.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
		if err != nil {
			return err
		}
		var got []mo.VirtualMachine
		err = v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name"}, &got)
		if derr := v.Destroy(ctx); err == nil && derr != nil {
			err = fmt.Errorf("DestroyView: %w", derr)
		}
		if err != nil {
			return err
		}
		var fromView, fromFinder []string
		for _, vm := range got {
			fromView = append(fromView, vm.Self.Value+"="+vm.Name)
		}
		for _, vm := range vms {
			fromFinder = append(fromFinder, vm.Reference().Value+"="+vm.Name())
		}
		sort.Strings(fromView)
		sort.Strings(fromFinder)
		if strings.Join(fromView, ",") != strings.Join(fromFinder, ",") {
			return fmt.Errorf("view %v, finder %v", fromView, fromFinder)
		}
		return nil
	})

	s.check("find: SearchIndex FindByUuid and FindByInventoryPath find the VM", func() error {
		si := object.NewSearchIndex(s.client.Client)
		byUUID, err := si.FindByUuid(ctx, dc, target.Config.Uuid, true, nil)
		if err != nil {
			return fmt.Errorf("FindByUuid: %w", err)
		}
		if byUUID == nil || byUUID.Reference() != target.Self {
			return fmt.Errorf("FindByUuid gave %v", byUUID)
		}
		path := strings.TrimPrefix(dc.InventoryPath, "/") + "/vm/" + target.Name
		byPath, err := si.FindByInventoryPath(ctx, path)
		if err != nil {
			return fmt.Errorf("FindByInventoryPath: %w", err)
		}
		if byPath == nil || byPath.Reference() != target.Self {
			return fmt.Errorf("FindByInventoryPath(%q) gave %v", path, byPath)
		}
		missing, err := si.FindByUuid(ctx, dc, "00000000-0000-0000-0000-000000000000", true, nil)
		if err != nil || missing != nil {
			return fmt.Errorf("an unknown uuid gave %v, %v", missing, err)
		}
		return nil
	})

	s.check("find: RetrievePropertiesEx with maxObjects 2 pages through ContinueRetrievePropertiesEx", func() error {
		return s.pagedRetrieve(ctx, refs)
	})
}

// pagedRetrieve reads every VM's name two objects at a time, as govc HEAD's collector does.
func (s *suite) pagedRetrieve(ctx context.Context, refs []types.ManagedObjectReference) error {
	var objectSet []types.ObjectSpec
	for _, ref := range refs {
		objectSet = append(objectSet, types.ObjectSpec{Obj: ref, Skip: types.NewBool(false)})
	}
	pc := s.client.PropertyCollector().Reference()
	res, err := methods.RetrievePropertiesEx(ctx, s.client.Client, &types.RetrievePropertiesEx{
		This: pc,
		SpecSet: []types.PropertyFilterSpec{{
			ObjectSet: objectSet,
			PropSet:   []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"name"}}},
		}},
		Options: types.RetrieveOptions{MaxObjects: 2},
	})
	if err != nil {
		return err
	}
	if res.Returnval == nil {
		return errors.New("no result")
	}
	seen := map[string]bool{}
	pages := 0
	result := res.Returnval
	for {
		pages++
		if len(result.Objects) > 2 {
			return fmt.Errorf("page %d has %d objects, maxObjects is 2", pages, len(result.Objects))
		}
		for _, oc := range result.Objects {
			if seen[oc.Obj.Value] {
				return fmt.Errorf("%s came twice", oc.Obj.Value)
			}
			seen[oc.Obj.Value] = true
		}
		if result.Token == "" {
			break
		}
		if pages > len(refs) {
			return fmt.Errorf("still a token after %d pages", pages)
		}
		next, err := methods.ContinueRetrievePropertiesEx(ctx, s.client.Client, &types.ContinueRetrievePropertiesEx{This: pc, Token: result.Token})
		if err != nil {
			return fmt.Errorf("ContinueRetrievePropertiesEx: %w", err)
		}
		result = &next.Returnval
	}
	if len(seen) != len(refs) {
		return fmt.Errorf("%d of %d VMs over %d pages", len(seen), len(refs), pages)
	}
	if want := (len(refs) + 1) / 2; pages != want {
		return fmt.Errorf("%d pages, want %d", pages, want)
	}
	return nil
}
