/** Workspace files OpenClaw puts verbatim into the agent's system prompt. */
export const SOUL_FILE = "SOUL.md";
export const AGENTS_FILE = "AGENTS.md";
export const SKILLS_DIR = "skills";

/** Workspace entries the operator owns: the init container replaces them on every pod start. */
export const OPERATOR_WORKSPACE_ENTRIES = [SOUL_FILE, AGENTS_FILE, SKILLS_DIR] as const;

const SKILL_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export class WorkspaceError extends Error {
  override name = "WorkspaceError";
}

export interface WorkspaceInput {
  soul: string;
  instructions?: string | undefined;
  skills?: readonly { name: string; content: string }[] | undefined;
}

/** The operator's workspace files, relative path → content, in a stable order. */
export function renderWorkspaceFiles({ soul, instructions, skills = [] }: WorkspaceInput): Record<string, string> {
  const files: Record<string, string> = { [SOUL_FILE]: soul };
  if (instructions) files[AGENTS_FILE] = instructions;
  for (const { name, content } of skills) {
    if (!SKILL_NAME.test(name)) throw new WorkspaceError(`skill name ${JSON.stringify(name)} is not a DNS label`);
    const path = `${SKILLS_DIR}/${name}/SKILL.md`;
    if (path in files) throw new WorkspaceError(`skill ${name} is listed twice`);
    files[path] = content;
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
