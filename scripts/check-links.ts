/**
 * Checks every relative link in the repository's Markdown files: the file or directory it names
 * must be in the repository (tracked, or new and not ignored, so a page is checked before it is
 * added), inside it, and a `#anchor` into a Markdown file must name one of its headings as GitHub
 * slugs them. Prints each broken link as `file:line: target: why` and exits 1 if there is any.
 *
 *   node --experimental-strip-types scripts/check-links.ts
 *
 * External links (a scheme such as `https:` or `mailto:`, or `//host`) are not fetched: the check
 * runs offline and its answer does not depend on somebody else's server.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const root = execFileSync("git", ["rev-parse", "--show-toplevel"], { encoding: "utf8" }).trim();

/** Tracked files, and new ones that are not ignored: what the next commit can hold. */
function repositoryFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  // A tracked file deleted in the working tree is no longer there to link to.
  return [...new Set(out.split("\0").filter(Boolean))].filter((file) => existsSync(path.join(root, file)));
}

const files = repositoryFiles();
const fileSet = new Set(files);
const directorySet = new Set<string>([""]);
for (const file of files) {
  for (let dir = path.posix.dirname(file); dir !== "."; dir = path.posix.dirname(dir)) directorySet.add(dir);
}
const markdownFiles = files.filter((file) => file.toLowerCase().endsWith(".md")).sort();

/** Replaces each character of `text` but line breaks with a space, so offsets and line numbers stay. */
function blank(text: string): string {
  return text.replace(/[^\n]/g, " ");
}

/**
 * The text with fenced code blocks and HTML comments blanked out: a `[x](y)` inside them is code or
 * a comment, not a link. Indented code blocks are left alone, since list continuations look the same.
 */
function withoutCodeBlocks(text: string): string {
  const lines = text.split("\n");
  let fence: { char: string; length: number } | null = null;
  const out = lines.map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence.char && marker.length >= fence.length && line.trim() === marker) {
        fence = null;
      }
      return blank(line);
    }
    if (marker) {
      fence = { char: marker[0] ?? "`", length: marker.length };
      return blank(line);
    }
    return line;
  });
  return out.join("\n").replace(/<!--[\s\S]*?-->/g, blank);
}

/** Inline code spans blanked out (their content is code), keeping the backticks' places. */
function withoutCodeSpans(text: string): string {
  return text.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (span) => blank(span));
}

/** The text of a heading as GitHub renders it: no markup, code kept verbatim (held aside under private-use marks meanwhile). */
function headingText(raw: string): string {
  const codes: string[] = [];
  let text = raw.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (_span, _ticks: string, code: string) => {
    codes.push(code.trim());
    return `\uE000${codes.length - 1}\uE000`;
  });
  text = text
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\[[^\]]*\]/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/\*+/g, "")
    .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, "$1")
    .replace(/~~/g, "");
  return text.replace(/\uE000(\d+)\uE000/g, (_match, index: string) => codes[Number(index)] ?? "");
}

/** github-slugger: lower case, punctuation dropped, each space a hyphen. */
function slug(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

const anchorCache = new Map<string, Set<string>>();

/** Every anchor a Markdown file offers: its headings' slugs (repeats numbered as GitHub does) and HTML ids. */
function anchorsOf(file: string): Set<string> {
  const cached = anchorCache.get(file);
  if (cached) return cached;
  const text = withoutCodeBlocks(readFileSync(path.join(root, file), "utf8"));
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const add = (heading: string) => {
    const base = slug(headingText(heading));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  };
  const lines = text.split("\n");
  lines.forEach((line, index) => {
    const atx = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (atx) {
      add(atx[1] ?? "");
      return;
    }
    const next = lines[index + 1];
    const previousBlank = index === 0 || (lines[index - 1] ?? "").trim() === "";
    if (next !== undefined && /^ {0,3}(=+|-+)[ \t]*$/.test(next) && line.trim() !== "" && previousBlank) {
      if (!/^ {0,3}([-*+]|\d+[.)])\s|^\s*\|/.test(line)) add(line.trim());
    }
  });
  for (const match of text.matchAll(/<[a-z][^>]*\s(?:id|name)\s*=\s*["']([^"']+)["']/gi)) {
    if (match[1]) anchors.add(match[1]);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

/** Inline links and images, reference definitions, and HTML `href`/`src`, with their line numbers. */
function linksOf(file: string): Link[] {
  const source = readFileSync(path.join(root, file), "utf8");
  const text = withoutCodeSpans(withoutCodeBlocks(source));
  const lineOf = (offset: number) => source.slice(0, offset).split("\n").length;
  const links: Link[] = [];
  const patterns = [
    // [text](target "title") and ![alt](target); the text may hold one level of brackets.
    /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g,
    // [label]: target
    /^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)/gm,
    // <a href="…">, <img src="…">
    /<[a-z][^>]*\s(?:href|src)\s*=\s*["']([^"']*)["']/gi,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      const raw = match[1];
      if (raw === undefined) continue;
      const target = raw.startsWith("<") && raw.endsWith(">") ? raw.slice(1, -1) : raw;
      links.push({ line: lineOf((match.index ?? 0) + match[0].indexOf(raw)), target });
    }
  }
  return links.sort((a, b) => a.line - b.line);
}

const external = /^(?:[a-z][a-z\d+.-]*:|\/\/)/i;

/** Why `target`, linked from `file`, is broken; null when it is not, or when it is external. */
function problemOf(file: string, target: string): string | null {
  if (target === "") return "empty link";
  if (external.test(target)) return null;
  const hashAt = target.indexOf("#");
  const pathPart = (hashAt === -1 ? target : target.slice(0, hashAt)).replace(/\?.*$/, "");
  const anchor = hashAt === -1 ? null : target.slice(hashAt + 1);
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathPart);
  } catch {
    return "the path is not valid percent-encoding";
  }
  const resolved =
    decoded === ""
      ? file
      : path.posix.normalize(
          decoded.startsWith("/") ? decoded.slice(1) : path.posix.join(path.posix.dirname(file), decoded),
        );
  const relative = resolved.replace(/\/+$/, "");
  if (relative === ".." || relative.startsWith("../")) return "points outside the repository";
  const isFile = fileSet.has(relative);
  const isDirectory = directorySet.has(relative === "." ? "" : relative);
  if (!isFile && !isDirectory) {
    return existsSync(path.join(root, relative))
      ? "exists here but is not in the repository (ignored?)"
      : "no such file or directory";
  }
  if (anchor === null || anchor === "" || !isFile || !relative.toLowerCase().endsWith(".md")) return null;
  let wanted: string;
  try {
    wanted = decodeURIComponent(anchor);
  } catch {
    return "the anchor is not valid percent-encoding";
  }
  return anchorsOf(relative).has(wanted) ? null : `no heading with the anchor #${wanted} in ${relative}`;
}

let checked = 0;
const broken: string[] = [];
for (const file of markdownFiles) {
  for (const link of linksOf(file)) {
    checked++;
    const problem = problemOf(file, link.target);
    if (problem) broken.push(`${file}:${link.line}: ${link.target}: ${problem}`);
  }
}

for (const line of broken) console.log(line);
if (broken.length > 0) {
  console.log(`${broken.length} broken of ${checked} links in ${markdownFiles.length} Markdown files`);
  process.exit(1);
}
console.log(`${checked} links in ${markdownFiles.length} Markdown files: none broken`);
