/**
 * The few printf conversions Linux's procfs files are made of (`include/linux/seq_file.h`, `lib/vsprintf.c`),
 * shared by the formatters beside this file. Each formatter spells its own field widths as Linux's format
 * strings do; these helpers only make the conversions exact:
 *
 *   %*lu / %*ld          dec(value, width)       right-aligned, never truncated when wider
 *   %0*lx                hex(value, width)       lower-case, zero-padded
 *   seq_file_path(esc)   manglePath(path, esc)   each escaped byte becomes `\ooo` (fs/seq_file.c mangle_path)
 *   %*pbl                bitmapList(bits)        a bitmap as a range list, `0-3,8` (lib/vsprintf.c bitmap_list_string)
 *
 * Values are JavaScript numbers holding integers; a fractional or non-finite value is a bug in the caller
 * and throws, because Linux has no way to print one in these fields.
 */

/** `%*lu`: an integer in decimal, right-aligned in `width` columns (wider numbers are printed whole). */
export function dec(value: number, width = 0): string {
  if (!Number.isInteger(value)) throw new RangeError(`not an integer: ${value}`);
  return String(value).padStart(width);
}

/** `%0*lx`: a non-negative integer in lower-case hexadecimal, zero-padded to `width` digits. */
export function hex(value: number, width: number): string {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`not an unsigned integer: ${value}`);
  return value.toString(16).padStart(width, '0');
}

/** fs/seq_file.c `mangle_path`: every character of `escaped` in `path` becomes a backslash and 3 octal digits. */
export function manglePath(path: string, escaped: string): string {
  let out = '';
  for (const c of path) {
    out += escaped.includes(c) ? `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}` : c;
  }
  return out;
}

/** `%*pbl`: the set bits (any order, duplicates allowed) as a range list, `0-3,8`; no bits print nothing. */
export function bitmapList(bits: readonly number[]): string {
  const sorted = [...new Set(bits)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    ranges.push(i === j ? dec(sorted[i]) : `${dec(sorted[i])}-${dec(sorted[j])}`);
    i = j + 1;
  }
  return ranges.join(',');
}
