package main

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// discoveryClients checks what client-go's discovery client (aggregated and legacy) and the
// REST mappers built on it make of the server's discovery documents.
func discoveryClients(p *probe) {
	for _, legacy := range []bool{false, true} {
		dc := discovery.NewDiscoveryClientForConfigOrDie(p.config)
		dc.UseLegacyDiscovery = legacy
		mode := "aggregated"
		if legacy {
			mode = "legacy"
		}
		check := func(what string) string { return "discovery-" + mode + "/" + what }

		groups, lists, err := dc.ServerGroupsAndResources()
		if !p.noErr(check("server-groups-and-resources"), err) {
			continue
		}
		versions := map[string]string{}
		for _, g := range groups {
			vs := []string{}
			for _, v := range g.Versions {
				vs = append(vs, v.Version)
			}
			versions[g.Name] = strings.Join(vs, ",") + " preferred " + g.PreferredVersion.Version
		}
		p.expect(check("core-group"), versions[""] == "v1 preferred v1", "core: %q", versions[""])
		if *withCapstan {
			p.expect(check("capstan-group"), versions["capstan.dev"] == "v1,v1beta1 preferred v1", "capstan.dev: %q", versions["capstan.dev"])
		}
		resources := map[string]map[string]string{}
		for _, l := range lists {
			m := map[string]string{}
			for _, r := range l.APIResources {
				verbs := append([]string(nil), r.Verbs...)
				sort.Strings(verbs)
				m[r.Name] = fmt.Sprintf("kind=%s namespaced=%v verbs=%s short=%s group=%s version=%s", r.Kind, r.Namespaced, strings.Join(verbs, ","), strings.Join(r.ShortNames, ","), r.Group, r.Version)
			}
			resources[l.GroupVersion] = m
		}
		core := resources["v1"]
		for _, want := range []string{"pods", "pods/status", "pods/binding", "pods/eviction", "pods/ephemeralcontainers", "namespaces", "namespaces/status", "namespaces/finalize", "configmaps", "secrets", "events"} {
			p.expect(check("core-has-"+want), core[want] != "", "v1 lacks %s", want)
		}
		p.expect(check("pods-entry"), core["pods"] == "kind=Pod namespaced=true verbs=create,delete,deletecollection,get,list,patch,update,watch short=po group= version=", "pods: %s", core["pods"])
		p.expect(check("eviction-entry"), strings.HasPrefix(core["pods/eviction"], "kind=Eviction namespaced=true verbs=create short= group=policy version=v1"), "pods/eviction: %s", core["pods/eviction"])
		p.expect(check("binding-entry"), strings.HasPrefix(core["pods/binding"], "kind=Binding namespaced=true verbs=create"), "pods/binding: %s", core["pods/binding"])
		leases := resources["coordination.k8s.io/v1"]["leases"]
		p.expect(check("leases-entry"), leases == "kind=Lease namespaced=true verbs=create,delete,deletecollection,get,list,patch,update,watch short= group= version=", "leases: %s", leases)
		p.expect(check("coordination-group"), strings.HasSuffix(versions["coordination.k8s.io"], "preferred v1"), "coordination.k8s.io: %q", versions["coordination.k8s.io"])
		p.expect(check("namespace-status-entry"), strings.HasPrefix(core["namespaces/status"], "kind=Namespace namespaced=false verbs=get,patch,update"), "namespaces/status: %s", core["namespaces/status"])
		if *withCapstan {
			for _, v := range []string{"v1", "v1beta1"} {
				cp := resources["capstan.dev/"+v]
				p.expect(check("capstan-"+v+"-pods"), strings.HasPrefix(cp["pods"], "kind=Pod namespaced=true verbs=create,delete,deletecollection,get,list,patch,update,watch"), "capstan.dev/%s pods: %s", v, cp["pods"])
				p.expect(check("capstan-"+v+"-pods-status"), cp["pods/status"] != "", "capstan.dev/%s lacks pods/status: %v", v, keys(cp))
			}
		}

		// The namespace controller deletes everything ServerPreferredNamespacedResources names.
		preferred, err := discovery.ServerPreferredNamespacedResources(dc)
		if p.noErr(check("preferred-namespaced"), err) {
			names := []string{}
			for _, l := range preferred {
				for _, r := range l.APIResources {
					names = append(names, l.GroupVersion+"/"+r.Name)
				}
			}
			sort.Strings(names)
			want := []string{"coordination.k8s.io/v1/leases", "v1/configmaps", "v1/events", "v1/pods", "v1/secrets"}
			if *withCapstan {
				want = append([]string{"capstan.dev/v1/pods"}, want...)
			}
			for _, w := range want {
				p.expect(check("preferred-namespaced-"+w), contains(names, w), "missing %s in %v", w, names)
			}
		}

		// A deferred REST mapper with kubectl's shortcut expander.
		cached := memory.NewMemCacheClient(dc)
		mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
		expander := restmapper.NewShortcutExpander(mapper, cached, func(string) {})
		m, err := mapper.RESTMapping(schema.GroupKind{Kind: "Pod"}, "v1")
		if p.noErr(check("restmapping-core-pod"), err) {
			p.expect(check("restmapping-core-pod-resource"), m.Resource == schema.GroupVersionResource{Version: "v1", Resource: "pods"} && m.Scope.Name() == "namespace", "got %v %s", m.Resource, m.Scope.Name())
		}
		if *withCapstan {
			m, err = mapper.RESTMapping(schema.GroupKind{Group: "capstan.dev", Kind: "Pod"})
			if p.noErr(check("restmapping-capstan-pod"), err) {
				p.expect(check("restmapping-capstan-preferred"), m.Resource == schema.GroupVersionResource{Group: "capstan.dev", Version: "v1", Resource: "pods"}, "got %v", m.Resource)
			}
			m, err = mapper.RESTMapping(schema.GroupKind{Group: "capstan.dev", Kind: "Pod"}, "v1beta1")
			if p.noErr(check("restmapping-capstan-v1beta1"), err) {
				p.expect(check("restmapping-capstan-v1beta1-resource"), m.Resource.Version == "v1beta1", "got %v", m.Resource)
			}
			gvr, err := expander.ResourceFor(schema.GroupVersionResource{Group: "capstan.dev", Resource: "pods"})
			if p.noErr(check("resourcefor-capstan"), err) {
				p.expect(check("resourcefor-capstan-version"), gvr.Version == "v1", "got %v", gvr)
			}
		}
		gvr, err := expander.ResourceFor(schema.GroupVersionResource{Resource: "cm"})
		if p.noErr(check("shortcut-cm"), err) {
			p.expect(check("shortcut-cm-core"), gvr == schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "cm is %v", gvr)
		}
		// capstan.dev pods share "po" with core pods; this expander takes whichever group the
		// (unordered) aggregated discovery map yields first, kubectl's disk cache the core one.
		gvr, err = expander.ResourceFor(schema.GroupVersionResource{Resource: "po"})
		if p.noErr(check("shortcut-po"), err) {
			p.expect(check("shortcut-po-pods"), gvr.Resource == "pods", "po is %v", gvr)
		}
		gvks, err := mapper.KindsFor(schema.GroupVersionResource{Resource: "pods"})
		if p.noErr(check("kinds-for-pods"), err) {
			p.expect(check("kinds-for-pods-core-first"), len(gvks) > 0 && gvks[0] == schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "got %v", gvks)
		}
	}

	dc := discovery.NewDiscoveryClientForConfigOrDie(p.config)
	v, err := dc.ServerVersion()
	if p.noErr("discovery/server-version", err) {
		p.expect("discovery/server-version-fields", v.Major != "" && v.Minor != "" && v.GitVersion != "", "%+v", v)
	}
	paths, err := dc.OpenAPIV3().Paths()
	if p.noErr("discovery/openapi-v3-paths", err) {
		if gv, ok := paths["api/v1"]; p.expect("discovery/openapi-v3-core", ok, "paths %v", keys(paths)) {
			_, err := gv.Schema("application/json")
			p.noErr("discovery/openapi-v3-core-schema", err)
		}
	}
	// Capstan serves /openapi/v2 as JSON only; client-go's OpenAPISchema asks for protobuf.
	_, err = dc.OpenAPISchema()
	p.note(map[string]any{"openapiV2Protobuf": fmt.Sprint(err)})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
