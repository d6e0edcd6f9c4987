/** Which rows of a virtualised grid to render: only the visible rows plus `overscan` rows on each side. */
export interface GridWindow {
  columns: number
  /** first and one-past-last item index to render */
  start: number
  end: number
  /** translateY of the first rendered row */
  offsetTop: number
  /** full scroll height of all rows */
  totalHeight: number
}

export function gridWindow(p: { count: number; width: number; tileWidth: number; rowHeight: number; scrollTop: number; viewportHeight: number; overscan?: number }): GridWindow {
  const columns = Math.max(1, Math.floor(p.width / Math.max(1, p.tileWidth)))
  const rows = Math.ceil(p.count / columns)
  const overscan = p.overscan ?? 2
  const firstRow = Math.max(0, Math.floor(p.scrollTop / p.rowHeight) - overscan)
  const lastRow = Math.min(rows, Math.ceil((p.scrollTop + p.viewportHeight) / p.rowHeight) + overscan)
  return {
    columns,
    start: Math.min(p.count, firstRow * columns),
    end: Math.min(p.count, lastRow * columns),
    offsetTop: firstRow * p.rowHeight,
    totalHeight: rows * p.rowHeight,
  }
}
