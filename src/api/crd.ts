import { CATEGORY, type KindDefinition } from "./kinds.ts";
import { GROUP, VERSION } from "./meta.ts";
import { type JSONSchemaProps, structuralSchema } from "./structural.ts";

/** Builds the CustomResourceDefinition of one kind from its zod schemas. */
export function customResourceDefinition(def: KindDefinition) {
  const openAPIV3Schema: JSONSchemaProps = {
    description: def.description,
    type: "object",
    required: ["spec"],
    properties: {
      apiVersion: { type: "string", description: "Versioned schema of this representation of the object." },
      kind: { type: "string", description: "The REST resource this object represents." },
      // The API server refuses anything but the type here: metadata is described by Kubernetes itself.
      metadata: { type: "object" },
      spec: structuralSchema(def.spec),
      status: structuralSchema(def.status),
    },
    "x-kubernetes-validations": def.objectRules,
  };
  const subresources: Record<string, unknown> = { status: {} };
  if (def.scale) subresources.scale = def.scale;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${def.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "clawcrew", "app.kubernetes.io/part-of": "clawcrew" },
    },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: [CATEGORY],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources,
          additionalPrinterColumns: def.printerColumns,
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}
