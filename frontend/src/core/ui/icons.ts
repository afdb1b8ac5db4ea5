/**
 * Module manifests name their icon (Lucide names such as "flask-conical"); this maps the names
 * the platform's modules use to components. Unknown names fall back to a box.
 */
import {
  Box,
  Calendar,
  ChartLine,
  Cloud,
  Contact,
  FileText,
  FlaskConical,
  Globe,
  Handshake,
  Headset,
  LifeBuoy,
  Mail,
  Phone,
  Receipt,
  Server,
  SquareCheckBig,
  Users,
  Activity,
  Workflow,
  Search,
  Tag,
  StickyNote,
  Folder,
  LayoutTemplate,
  NotebookPen,
} from '@lucide/vue'
import type { Component } from 'vue'

const ICONS: Record<string, Component> = {
  box: Box,
  calendar: Calendar,
  'chart-line': ChartLine,
  cloud: Cloud,
  contact: Contact,
  'file-text': FileText,
  'flask-conical': FlaskConical,
  globe: Globe,
  handshake: Handshake,
  headset: Headset,
  'life-buoy': LifeBuoy,
  mail: Mail,
  phone: Phone,
  receipt: Receipt,
  server: Server,
  'square-check-big': SquareCheckBig,
  users: Users,
  activity: Activity,
  workflow: Workflow,
  search: Search,
  tag: Tag,
  'sticky-note': StickyNote,
  folder: Folder,
  'layout-template': LayoutTemplate,
  'check-square': SquareCheckBig,
  'notebook-pen': NotebookPen,
}

export function iconFor(name: string | null | undefined): Component {
  return (name && ICONS[name]) || Box
}
