// Command protobuf derives, from the Go types of k8s.io/api and k8s.io/apimachinery, what
// Capstan's protobuf decoder (src/api/protobuf) cannot read from the .proto files alone, and
// writes real protobuf test vectors with apimachinery's own serializer.
//
//	go run . gotypes          > ../../src/api/protobuf/gotypes.txt
//	go run . vectors <dir>      (writes <name>.pb and <name>.json pairs)
//
// The .proto files say nothing about how Go marshals the same struct to JSON: whether a field is
// a pointer (present even when zero), `omitempty` (absent when zero), `omitzero`, or always
// written; nor which registered kind uses which message. Reflection over the registered types
// answers both exactly. Run by scripts/gen-protobuf-descriptors.sh; nothing here runs at build
// or test time.
package main

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: protobuf gotypes | protobuf vectors <dir>")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gotypes":
		err = gotypes()
	case "vectors":
		if len(os.Args) != 3 {
			err = fmt.Errorf("vectors needs an output directory")
		} else {
			err = vectors(os.Args[2])
		}
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// newScheme registers the groups Capstan serves, as kube-apiserver's legacy scheme does.
func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, coordinationv1.AddToScheme, eventsv1.AddToScheme, policyv1.AddToScheme, metav1.AddMetaToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	// Of authentication.k8s.io and authorization.k8s.io only the self reviews are served; the
	// groups' other kinds (TokenRequest's BoundObjectReference names a field unlike its proto
	// name, which the decoder refuses) stay out.
	scheme.AddKnownTypes(authenticationv1.SchemeGroupVersion, &authenticationv1.SelfSubjectReview{})
	scheme.AddKnownTypes(authorizationv1.SchemeGroupVersion,
		&authorizationv1.SelfSubjectAccessReview{}, &authorizationv1.SelfSubjectRulesReview{})
	metav1.AddToGroupVersion(scheme, authenticationv1.SchemeGroupVersion)
	metav1.AddToGroupVersion(scheme, authorizationv1.SchemeGroupVersion)
	metav1.AddToGroupVersion(scheme, metav1.SchemeGroupVersion)
	return scheme, nil
}

// special types are marshalled by hand on both sides (custom MarshalJSON and proto methods);
// their inner fields are not walked.
var special = map[string]bool{
	"k8s.io.apimachinery.pkg.apis.meta.v1.Time":       true,
	"k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime":  true,
	"k8s.io.apimachinery.pkg.apis.meta.v1.Duration":   true,
	"k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1":   true,
	"k8s.io.apimachinery.pkg.api.resource.Quantity":   true,
	"k8s.io.apimachinery.pkg.util.intstr.IntOrString": true,
	"k8s.io.apimachinery.pkg.runtime.RawExtension":    true,
	"k8s.io.apimachinery.pkg.runtime.Unknown":         true,
}

// messageName is go-to-protobuf's naming: the Go import path with dots, then the type name.
func messageName(t reflect.Type) string {
	return strings.ReplaceAll(t.PkgPath(), "/", ".") + "." + t.Name()
}

func gotypes() error {
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	var kinds []string
	seen := map[reflect.Type]bool{}
	var fields []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || !strings.HasPrefix(t.PkgPath(), "k8s.io/") {
			return
		}
		seen[t] = true
		msg := messageName(t)
		if special[msg] {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, ok := f.Tag.Lookup("protobuf")
			if !ok {
				continue
			}
			walk(f.Type)
			parts := strings.Split(tag, ",")
			if len(parts) < 2 {
				continue
			}
			number, label, protoName := parts[1], "opt", ""
			for _, p := range parts[2:] {
				if v, ok := strings.CutPrefix(p, "name="); ok {
					protoName = v
				} else if p == "rep" || p == "req" {
					label = p
				}
			}
			jsonTag := strings.Split(f.Tag.Get("json"), ",")
			jsonName := jsonTag[0]
			opts := map[string]bool{}
			for _, o := range jsonTag[1:] {
				opts[o] = true
			}
			mode := "omitempty"
			switch {
			case jsonName == "" && (f.Anonymous || opts["inline"]):
				mode = "inline"
			case label == "rep" && !opts["omitempty"]:
				// A list or map without omitempty: a nil one is written as `null`.
				mode = "always"
			case label == "rep":
				mode = "repeated"
			case f.Type.Kind() == reflect.Pointer:
				mode = "ptr"
			case opts["omitzero"]:
				mode = "omitzero"
			case f.Type.Kind() == reflect.Struct:
				// encoding/json ignores omitempty on structs: they are always written.
				mode = "always"
			case !opts["omitempty"]:
				mode = "always"
			}
			if jsonName == "" {
				jsonName = protoName
			}
			if mode == "omitempty" && jsonName == protoName || mode == "repeated" && jsonName == protoName {
				continue
			}
			line := fmt.Sprintf("field %s %s %s", msg, number, mode)
			if jsonName != protoName && mode != "inline" {
				line += " " + jsonName
			}
			fields = append(fields, line)
		}
	}
	for gvk, t := range scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		kinds = append(kinds, fmt.Sprintf("kind %s %s %s", gvk.GroupVersion().String(), gvk.Kind, messageName(t)))
		walk(t)
	}
	sort.Strings(kinds)
	sort.Strings(fields)
	fmt.Println("# Generated by scripts/gen-protobuf-descriptors.sh from the Go types of k8s.io/api and")
	fmt.Println("# k8s.io/apimachinery (Apache-2.0; see NOTICE). Do not edit.")
	fmt.Println("#   kind <apiVersion> <kind> <message>: the message a registered kind is encoded as")
	fmt.Println("#   field <message> <number> <mode> [<json name>]: how Go writes the field as JSON, for every")
	fmt.Println("#   field not `omitempty` (ptr, always, omitzero, inline) or whose JSON name is not its proto name")
	for _, l := range kinds {
		fmt.Println(l)
	}
	for _, l := range fields {
		fmt.Println(l)
	}
	return nil
}
