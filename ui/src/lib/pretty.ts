// A key's value as the Keys page shows it: JSON re-indented when it parses as
// an object or array, YAML re-printed when it parses as a mapping or sequence
// (the YAML parser is loaded only then: it is most of the bundle otherwise),
// the text as it is in every other case.

export type Pretty = { format: 'json' | 'yaml' | 'text'; text: string };

export function prettyJson(text: string): Pretty | undefined {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    return { format: 'json', text: JSON.stringify(JSON.parse(t), null, 2) };
  } catch {
    return undefined;
  }
}

/** Cheap look before loading the YAML parser: several lines, one of them "key: value" or "- item"; or a "---" document marker. */
export function looksLikeYaml(text: string): boolean {
  const structuredLine = /^(\s*[^\s#:][^:\n]*:(\s|$)|\s*-\s)/m.test(text);
  return (structuredLine && text.includes('\n')) || /^---\s*$/m.test(text);
}

export type YamlParse = (text: string) => unknown;
export type YamlStringify = (value: unknown) => string;

export function prettyYamlWith(text: string, parse: YamlParse, stringify: YamlStringify): Pretty | undefined {
  try {
    const value = parse(text);
    if (value === null || typeof value !== 'object') return undefined;
    return { format: 'yaml', text: stringify(value).replace(/\n$/, '') };
  } catch {
    return undefined;
  }
}

export async function prettyValue(text: string): Promise<Pretty> {
  const json = prettyJson(text);
  if (json) return json;
  if (looksLikeYaml(text)) {
    const yaml = await import('yaml');
    const pretty = prettyYamlWith(text, (t) => yaml.parse(t), (v) => yaml.stringify(v, { indent: 2 }));
    if (pretty) return pretty;
  }
  return { format: 'text', text };
}
