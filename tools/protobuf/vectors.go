package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptr[T any](v T) *T { return &v }

// vectors writes, for each sample object, the bytes client-go's protobuf serializer sends
// (<name>.pb) and encoding/json's rendering of the same Go value (<name>.json): the decoder's
// output must equal the latter.
func vectors(dir string) error {
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	serializer := protobuf.NewSerializer(scheme, scheme)
	encode := func(obj runtime.Object) ([]byte, error) {
		var buf bytes.Buffer
		if err := serializer.Encode(obj, &buf); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	write := func(name string, obj runtime.Object, expected any) error {
		pb, err := encode(obj)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if expected == nil {
			expected = obj
		}
		js, err := json.MarshalIndent(expected, "", "  ")
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".pb"), pb, 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".json"), append(js, '\n'), 0o644)
	}

	created := metav1.NewTime(time.Date(2026, 11, 27, 10, 11, 12, 0, time.UTC))
	deleting := metav1.NewTime(time.Date(2026, 11, 28, 1, 2, 3, 0, time.UTC))

	// What `kubectl create namespace protobuf-ns` sends.
	if err := write("namespace", &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: "protobuf-ns"},
	}, nil); err != nil {
		return err
	}

	configMap := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        "settings",
			Namespace:   "default",
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": ""},
		},
		Immutable:  ptr(false),
		Data:       map[string]string{"mode": "fast", "empty": ""},
		BinaryData: map[string][]byte{"blob": {0, 1, 2, 0xfe, 0xff}, "nothing": {}},
	}
	if err := write("configmap", configMap, nil); err != nil {
		return err
	}

	if err := write("secret", &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "creds", GenerateName: "creds-"},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"password": []byte("s3cr3t"), "token": {0x80, 0x81}},
		StringData: map[string]string{"user": "admin"},
	}, nil); err != nil {
		return err
	}

	if err := write("pod", samplePod(created, deleting), nil); err != nil {
		return err
	}

	if err := write("deleteoptions", &metav1.DeleteOptions{
		TypeMeta:           metav1.TypeMeta{APIVersion: "v1", Kind: "DeleteOptions"},
		GracePeriodSeconds: ptr(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: ptr(k8stypes.UID("0c2d0b9e-5d2e-4c61-9d6c-2f6f5d1d8a11")), ResourceVersion: ptr("42")},
		PropagationPolicy:  ptr(metav1.DeletePropagationBackground),
		DryRun:             []string{"All"},
	}, nil); err != nil {
		return err
	}

	if err := write("eviction", &policyv1.Eviction{
		TypeMeta:      metav1.TypeMeta{APIVersion: "policy/v1", Kind: "Eviction"},
		ObjectMeta:    metav1.ObjectMeta{Name: "web", Namespace: "default"},
		DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(30)), OrphanDependents: ptr(false)},
	}, nil); err != nil {
		return err
	}

	// What client-go's leader election writes (resourcelock.LeaseLock): MicroTimes and int32s.
	if err := write("lease", &coordinationv1.Lease{
		TypeMeta:   metav1.TypeMeta{APIVersion: "coordination.k8s.io/v1", Kind: "Lease"},
		ObjectMeta: metav1.ObjectMeta{Name: "controller", Namespace: "kube-system", ResourceVersion: "7"},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr("candidate-a"),
			LeaseDurationSeconds: ptr(int32(15)),
			AcquireTime:          ptr(metav1.NewMicroTime(time.Date(2026, 11, 27, 10, 11, 12, 345678912, time.UTC))),
			RenewTime:            ptr(metav1.NewMicroTime(time.Date(2026, 11, 27, 10, 11, 14, 5000, time.UTC))),
			LeaseTransitions:     ptr(int32(0)),
		},
	}, nil); err != nil {
		return err
	}

	if err := write("binding", &corev1.Binding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Binding"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Target:     corev1.ObjectReference{Kind: "Node", Name: "node-1"},
	}, nil); err != nil {
		return err
	}

	if err := write("event", &corev1.Event{
		TypeMeta:       metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", FieldPath: "spec.containers{main}"},
		Reason:         "Started",
		Message:        "Started container main",
		FirstTimestamp: created,
		Count:          3,
		Type:           corev1.EventTypeNormal,
		EventTime:      metav1.NewMicroTime(time.Date(2026, 11, 27, 10, 11, 12, 345678912, time.UTC)),
		Series:         &corev1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(time.Date(2026, 11, 27, 10, 11, 13, 5000, time.UTC))},
	}, nil); err != nil {
		return err
	}

	// A watch event embeds its object as RawExtension bytes: JSON in one, protobuf in the other.
	// WatchEvent has no TypeMeta, so its envelope is written by hand as the watch encoder does.
	watchEvent := func(name, typ string, raw []byte, expected any) error {
		event := metav1.WatchEvent{Type: typ, Object: runtime.RawExtension{Raw: raw}}
		inner, err := event.Marshal()
		if err != nil {
			return err
		}
		unknown := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: "v1", Kind: "WatchEvent"}, Raw: inner}
		outer, err := unknown.Marshal()
		if err != nil {
			return err
		}
		js, err := json.MarshalIndent(expected, "", "  ")
		if err != nil {
			return err
		}
		pb := append([]byte("k8s\x00"), outer...)
		if err := os.WriteFile(filepath.Join(dir, name+".pb"), pb, 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".json"), append(js, '\n'), 0o644)
	}
	cmJSON, err := json.Marshal(configMap)
	if err != nil {
		return err
	}
	withKind := func(typ string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "WatchEvent", "type": typ, "object": configMap}
	}
	if err := watchEvent("watchevent-json", "ADDED", cmJSON, withKind("ADDED")); err != nil {
		return err
	}
	cmPB, err := encode(configMap)
	if err != nil {
		return err
	}
	if err := watchEvent("watchevent-protobuf", "MODIFIED", cmPB, withKind("MODIFIED")); err != nil {
		return err
	}

	// Go's time.Duration.String for metav1.Duration, one `<nanoseconds> <string>` a line.
	var durations bytes.Buffer
	for _, d := range []time.Duration{0, 1, 999, 1000, 1500, time.Millisecond, 1500 * time.Millisecond, time.Second,
		90 * time.Second, time.Hour, 36*time.Hour + 5*time.Minute + 7*time.Second + 250*time.Millisecond,
		-2 * time.Minute, -1, 1<<63 - 1, -1 << 63, 100 * time.Millisecond, time.Minute + time.Nanosecond} {
		fmt.Fprintf(&durations, "%d %s\n", int64(d), metav1.Duration{Duration: d}.Duration.String())
	}
	return os.WriteFile(filepath.Join(dir, "durations.txt"), durations.Bytes(), 0o644)
}

// samplePod exercises quantities, int-or-string ports, probes, pointers to zero values, times
// and managed fields.
func samplePod(created, deleting metav1.Time) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:                       "web",
			Namespace:                  "default",
			UID:                        "6a0f2b1c-7e4d-4c2a-9a55-0c1f3d2e4b6a",
			ResourceVersion:            "17",
			Generation:                 2,
			CreationTimestamp:          created,
			DeletionTimestamp:          &deleting,
			DeletionGracePeriodSeconds: ptr(int64(0)),
			Labels:                     map[string]string{"app": "web"},
			Finalizers:                 []string{"example.com/keep"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", UID: "11111111-2222-3333-4444-555555555555",
				Controller: ptr(true), BlockOwnerDeletion: ptr(false),
			}},
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager: "kubectl-create", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
				Time: &created, FieldsType: "FieldsV1",
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}`)},
			}},
		},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr(int64(0)),
			AutomountServiceAccountToken:  ptr(false),
			RestartPolicy:                 corev1.RestartPolicyAlways,
			SecurityContext:               &corev1.PodSecurityContext{RunAsUser: ptr(int64(0)), RunAsNonRoot: ptr(false), FSGroup: ptr(int64(2000))},
			Tolerations: []corev1.Toleration{{
				Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists,
				Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300)),
			}},
			Volumes: []corev1.Volume{{
				Name:         "config",
				VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, DefaultMode: ptr(int32(0o644)), Optional: ptr(false)}},
			}, {
				Name:         "scratch",
				VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(resource.MustParse("1Gi"))}},
			}},
			Containers: []corev1.Container{{
				Name:    "main",
				Image:   "nginx:1.27",
				Command: []string{"nginx", "-g", "daemon off;"},
				Ports: []corev1.ContainerPort{
					{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
					{ContainerPort: 9090, HostPort: 0},
				},
				Env: []corev1.EnvVar{
					{Name: "EMPTY"},
					{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "mode"}}},
				},
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.1"), corev1.ResourceMemory: resource.MustParse("64M")},
				},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}},
					PeriodSeconds:    10,
					FailureThreshold: 3,
				},
				LivenessProbe: &corev1.Probe{
					ProbeHandler:                  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
					InitialDelaySeconds:           5,
					TerminationGracePeriodSeconds: ptr(int64(0)),
				},
				SecurityContext: &corev1.SecurityContext{Privileged: ptr(false), AllowPrivilegeEscalation: ptr(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
				Stdin:           false,
				TTY:             true,
			}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{
				Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: created,
			}},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "main", Ready: true, RestartCount: 0, Image: "nginx:1.27", ImageID: "",
				State:   corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: created}},
				Started: ptr(true),
			}},
		},
	}
}
