export interface Section {
  /** The header after '@@', e.g. "container app" (its first word is the kind). */
  header: string;
  body: string;
}

/**
 * A probe script prints '@@<header>' lines between the outputs of its parts, so one round trip answers many
 * questions; command output never starts a line with '@@' in practice, and a part that could is not merged.
 */
export function splitSections(stdout: string): Section[] {
  const sections: Section[] = [];
  let current: { header: string; lines: string[] } | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('@@')) {
      if (current) sections.push({ header: current.header, body: current.lines.join('\n') });
      current = { header: line.slice(2).trim(), lines: [] };
    } else {
      current?.lines.push(line);
    }
  }
  if (current) sections.push({ header: current.header, body: current.lines.join('\n') });
  return sections;
}

/** The body of the first section with this exact header. */
export function section(sections: Section[], header: string): string | undefined {
  return sections.find((entry) => entry.header === header)?.body;
}
