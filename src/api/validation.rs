//! Name and object-metadata validation shared by every kind (kube's apimachinery validation).
